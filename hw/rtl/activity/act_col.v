// SPDX-License-Identifier: MIT
//
// act_col: one column of ROWS PEs of the weight-stationary array, the unit the activity study
// simulates (Documentation/hw/activity.rst).  FP selects the PE: 0 vitsa_pe (int8/int4 codes,
// 8-bit operands), 1 act_pe_fp16 (fp16 operands, ACC_E/ACC_M accumulator).
//
// Partial sums flow down as in vitsa_array; the A operands arrive already skewed (row r one
// cycle later than row r-1) from the bench, which plays the skew registers, and the column's
// weight bus is driven directly.  a_q leaves each PE to the right unused: in the array it
// feeds the next column, which sees the same A stream.
module act_col #(
	parameter ROWS = 16,
	parameter RW = 4,
	parameter FP = 0,
	parameter ACC_E = 8,
	parameter ACC_M = 23,
	parameter OW = FP != 0 ? 16 : 8,			// operand width
	parameter PW = FP != 0 ? 1 + ACC_E + ACC_M : 22	// partial-sum width
) (
	input  wire                clk,
	input  wire                rst,
	input  wire [1:0]          a_type,
	input  wire [1:0]          b_type,
	input  wire [ROWS*OW-1:0]  a_row,
	input  wire [ROWS-1:0]     v_row,
	input  wire [ROWS-1:0]     f_row,
	input  wire                w_we,
	input  wire [RW-1:0]       w_row,
	input  wire [OW-1:0]       w_data,
	output wire [PW-1:0]       psum
);
	wire [PW-1:0] s_net [0:ROWS];

	assign s_net[0] = {PW{1'b0}};
	assign psum = s_net[ROWS];

	genvar r;
	generate
		for (r = 0; r < ROWS; r = r + 1) begin : g_row
			/* verilator lint_off PINCONNECTEMPTY */
			if (FP != 0) begin : g_fp
				act_pe_fp16 #(.ROW(r), .RW(RW), .ACC_E(ACC_E), .ACC_M(ACC_M)) pe (
					.clk(clk), .rst(rst),
					.a_in(a_row[r*OW +: OW]), .v_in(v_row[r]), .f_in(f_row[r]),
					.a_q(), .v_q(), .f_q(),
					.w_we(w_we), .w_row(w_row), .w_data(w_data),
					.psum_in(s_net[r]), .psum_q(s_net[r + 1]));
			end else begin : g_int
				vitsa_pe #(.ROW(r), .RW(RW), .PSUM_W(PW)) pe (
					.clk(clk), .rst(rst), .a_type(a_type), .b_type(b_type),
					.a_in(a_row[r*OW +: OW]), .v_in(v_row[r]), .f_in(f_row[r]),
					.a_q(), .v_q(), .f_q(),
					.w_we(w_we), .w_row(w_row), .w_data(w_data),
					.psum_in(s_net[r]), .psum_q(s_net[r + 1]));
			end
			/* verilator lint_on PINCONNECTEMPTY */
		end
	endgenerate
endmodule
