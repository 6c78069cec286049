// SPDX-License-Identifier: MIT
//
// vitsa_pe: one weight-stationary processing element (Documentation/hw/rtl.rst).
//
// Per cycle: multiply the A operand held in a_q by the stationary weight, add the partial sum
// from the PE above, register the sum for the PE below, and pass a_q to the PE on the right.
// The weight has two registers: w_act, the weight in use, and w_sh, the shadow that the weight
// bus of the next tile writes while this tile still computes.  The first A row of a tile
// carries f (first); it uses w_sh directly and copies it into w_act, so the switch to the new
// weights travels through the array with the data, one diagonal per cycle.
//
// The multiplier is four 5x5 signed sub-products of 4-bit halves.  In int8 mode all four are
// used; in int4 mode the high halves are held at zero, so only the low sub-product switches.
// The result is the exact product of the two operands as the type codes define them
// (0 S8, 1 U8, 2 S4, 3 U4); int4 mode does not pack more MACs into a cycle.
module vitsa_pe #(
	parameter ROW = 0,		// this PE's row: the weight bus row that writes w_sh
	parameter RW = 4,		// width of the weight bus row index
	parameter PSUM_W = 22		// partial-sum width, exact for ROWS products
) (
	input  wire                     clk,
	input  wire                     rst,
	input  wire [1:0]               a_type,
	input  wire [1:0]               b_type,
	// A operand from the left, passed on to the right one cycle later
	input  wire [7:0]               a_in,
	input  wire                     v_in,	// a valid A row (not a padding slot)
	input  wire                     f_in,	// first A row of a tile
	output reg  [7:0]               a_q,
	output reg                      v_q,
	output reg                      f_q,
	// this column's weight bus
	input  wire                     w_we,
	input  wire [RW-1:0]            w_row,
	input  wire [7:0]               w_data,
	// partial sums, from above and to below
	input  wire signed [PSUM_W-1:0] psum_in,
	output reg  signed [PSUM_W-1:0] psum_q
);
	reg  [7:0] w_sh, w_act;
	wire [7:0] w_use = f_q ? w_sh : w_act;

	// Low half: the whole value for int4 (sign-extended when signed), the unsigned low
	// nibble for int8.
	function signed [4:0] lo5(input [7:0] x, input [1:0] t);
		lo5 = {t[1] & ~t[0] & x[3], x[3:0]};
	endfunction

	// High half: zero for int4, the (signed or unsigned) high nibble for int8.
	function signed [4:0] hi5(input [7:0] x, input [1:0] t);
		hi5 = t[1] ? 5'sd0 : {~t[0] & x[7], x[7:4]};
	endfunction

	wire signed [4:0] al = lo5(a_q, a_type), ah = hi5(a_q, a_type);
	wire signed [4:0] bl = lo5(w_use, b_type), bh = hi5(w_use, b_type);
	wire signed [9:0] p_ll = al * bl, p_lh = al * bh, p_hl = ah * bl, p_hh = ah * bh;
	// a * b = ah*bh*256 + (ah*bl + al*bh)*16 + al*bl; |a * b| <= 255 * 255 fits 18 bits
	wire signed [17:0] prod = ({{8{p_hh[9]}}, p_hh} <<< 8) +
				  ({{8{p_lh[9]}}, p_lh} <<< 4) + ({{8{p_hl[9]}}, p_hl} <<< 4) +
				  {{8{p_ll[9]}}, p_ll};

	always @(posedge clk) begin
		a_q <= a_in;
		psum_q <= psum_in + {{(PSUM_W - 18){prod[17]}}, prod};
		if (f_q)
			w_act <= w_sh;
		if (w_we && w_row == ROW[RW-1:0])
			w_sh <= w_data;
	end

	always @(posedge clk) begin
		if (rst) begin
			v_q <= 1'b0;
			f_q <= 1'b0;
		end else begin
			v_q <= v_in;
			f_q <= f_in;
		end
	end
endmodule
