// SPDX-License-Identifier: MIT
//
// vitsa_array: ROWS x COLS PEs with the skew registers in front of them.
//
// A row of A (ROWS operands, one per array row) enters unskewed; array row r sees it r cycles
// later, so PE(r, c) processes A row m of a tile r + c cycles after PE(0, 0) does.  A weight
// row (COLS weights, one per column, tagged with its array row) enters unskewed too; column c
// sees it c cycles later, which keeps every shadow write on the same diagonal as the switch it
// must precede.  Partial sums leave the bottom row, with the valid/first flags of the A row
// they belong to, one result per column per cycle.
module vitsa_array #(
	parameter ROWS = 16,
	parameter COLS = 16,
	parameter RW = 4,
	parameter PSUM_W = 22
) (
	input  wire                      clk,
	input  wire                      rst,
	input  wire [1:0]                a_type,
	input  wire [1:0]                b_type,
	input  wire [ROWS*8-1:0]         a_row,
	input  wire                      a_v,
	input  wire                      a_f,
	input  wire                      w_we,
	input  wire [RW-1:0]             w_row,
	input  wire [COLS*8-1:0]         w_data,
	output wire [COLS*PSUM_W-1:0]    out_psum,
	output reg  [COLS-1:0]           out_v,
	output reg  [COLS-1:0]           out_f
);
	// Horizontal operand/flag nets: entry c of row r feeds PE(r, c); entry COLS is unused.
	wire [7:0]          a_net [0:ROWS-1][0:COLS];
	wire                v_net [0:ROWS-1][0:COLS];
	wire                f_net [0:ROWS-1][0:COLS];
	// Vertical partial sums: entry r of column c feeds PE(r, c); entry ROWS is the result.
	wire [PSUM_W-1:0]   s_net [0:ROWS][0:COLS-1];
	// Skewed weight bus of each column.
	wire                we_col [0:COLS-1];
	wire [RW-1:0]       row_col [0:COLS-1];
	wire [7:0]          wd_col [0:COLS-1];

	genvar r, c;
	generate
		for (r = 0; r < ROWS; r = r + 1) begin : g_askew
			vitsa_skew #(.W(10), .DEPTH(r)) sk (
				.clk(clk), .rst(rst),
				.d({a_v, a_f, a_row[r*8 +: 8]}),
				.q({v_net[r][0], f_net[r][0], a_net[r][0]}));
		end
		for (c = 0; c < COLS; c = c + 1) begin : g_wskew
			vitsa_skew #(.W(1 + RW + 8), .DEPTH(c)) sk (
				.clk(clk), .rst(rst),
				.d({w_we, w_row, w_data[c*8 +: 8]}),
				.q({we_col[c], row_col[c], wd_col[c]}));
			assign s_net[0][c] = {PSUM_W{1'b0}};
		end
		for (r = 0; r < ROWS; r = r + 1) begin : g_row
			for (c = 0; c < COLS; c = c + 1) begin : g_col
				vitsa_pe #(.ROW(r), .RW(RW), .PSUM_W(PSUM_W)) pe (
					.clk(clk), .rst(rst), .a_type(a_type), .b_type(b_type),
					.a_in(a_net[r][c]), .v_in(v_net[r][c]), .f_in(f_net[r][c]),
					.a_q(a_net[r][c + 1]), .v_q(v_net[r][c + 1]),
					.f_q(f_net[r][c + 1]),
					.w_we(we_col[c]), .w_row(row_col[c]), .w_data(wd_col[c]),
					.psum_in(s_net[r][c]), .psum_q(s_net[r + 1][c]));
			end
		end
		// The bottom PE registers its sum one cycle after its flags: delay them to match.
		for (c = 0; c < COLS; c = c + 1) begin : g_out
			assign out_psum[c*PSUM_W +: PSUM_W] = s_net[ROWS][c];
			always @(posedge clk) begin
				out_v[c] <= rst ? 1'b0 : v_net[ROWS-1][c + 1];
				out_f[c] <= rst ? 1'b0 : f_net[ROWS-1][c + 1];
			end
		end
	endgenerate
endmodule
