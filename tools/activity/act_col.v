// SPDX-License-Identifier: MIT
//
// act_col: one column of ROWS PEs of the weight-stationary array, the unit the activity study
// simulates (Documentation/hw/activity.rst).  FP selects the PE: 0 vitsa_pe (int8/int4 codes,
// 8-bit operands), 1 act_pe_fp16 (fp16 operands, ACC_E/ACC_M accumulator).  With ACT_GL
// defined the PE is yosys' gate netlist, which has no parameters: they are fixed at synthesis.
//
// Partial sums flow down as in vitsa_array; the A operands arrive already skewed (row r one
// cycle later than row r-1) from the bench, which plays the skew registers, and the column's
// weight bus is driven directly.  The bus row decode is done here, so that every PE is the
// same ROW 0 instance (one netlist serves all rows); inside the PE it sees a constant 0.
// a_q leaves each PE to the right unused: in the array it feeds the next column, which sees
// the same A stream.
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

// The connections every PE variant shares.
`define ACT_PE_PORTS \
	.clk(clk), .rst(rst), .a_in(a_row[r*OW +: OW]), .v_in(v_row[r]), .f_in(f_row[r]), \
	.a_q(), .v_q(), .f_q(), .w_we(w_we && w_row == r[RW-1:0]), .w_row({RW{1'b0}}), \
	.w_data(w_data), .psum_in(s_net[r]), .psum_q(s_net[r + 1])

	genvar r;
	generate
		for (r = 0; r < ROWS; r = r + 1) begin : g_row
			/* verilator lint_off PINCONNECTEMPTY */
`ifdef ACT_GL
			if (FP != 0) begin : g_fp
				act_pe_fp16 pe (`ACT_PE_PORTS);
			end else begin : g_int
				vitsa_pe pe (.a_type(a_type), .b_type(b_type), `ACT_PE_PORTS);
			end
`else
			if (FP != 0) begin : g_fp
				act_pe_fp16 #(.ACC_E(ACC_E), .ACC_M(ACC_M)) pe (`ACT_PE_PORTS);
			end else begin : g_int
				vitsa_pe #(.PSUM_W(PW)) pe (.a_type(a_type), .b_type(b_type),
							    `ACT_PE_PORTS);
			end
`endif
			/* verilator lint_on PINCONNECTEMPTY */
		end
	endgenerate
`undef ACT_PE_PORTS
endmodule
