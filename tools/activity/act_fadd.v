// SPDX-License-Identifier: MIT
//
// act_fadd: floating-point adder of EW exponent and MW fraction bits (fp32: 8, 23; fp16: 5, 10)
// for the accumulator of the dequantize-first baseline PE.
//
// Textbook single-path adder: order the operands by magnitude, align the smaller one with
// guard, round and sticky bits, add or subtract, normalise with a leading-one count, round to
// nearest, ties to even.  The simplifications of act_fmul: denormals flush to +0, the top
// exponent is read as an ordinary binade (no inf or NaN), results beyond the largest finite
// value saturate to it; an exact zero is +0.
module act_fadd #(
	parameter EW = 8,
	parameter MW = 23
) (
	input  wire [EW+MW:0]   x,
	input  wire [EW+MW:0]   y,
	output wire [EW+MW:0]   s
);
	localparam W = MW + 4;			// significand with hidden, guard, round, sticky bits
	localparam EMAX = (1 << EW) - 1;

	// Order by magnitude; equal magnitudes keep x, so x - x gives +0 below.
	wire          swap = y[EW+MW-1:0] > x[EW+MW-1:0];
	wire [EW+MW:0] big = swap ? y : x, sml = swap ? x : y;
	wire [EW-1:0] eb = big[EW+MW-1:MW], es = sml[EW+MW-1:MW];
	wire [W-1:0]  mb = eb == 0 ? {W{1'b0}} : {1'b1, big[MW-1:0], 3'b000};
	wire [W-1:0]  ms0 = es == 0 ? {W{1'b0}} : {1'b1, sml[MW-1:0], 3'b000};

	// Align: shift right by the exponent difference, OR what falls off into the sticky bit.
	wire [31:0]    d = {{(32 - EW){1'b0}}, eb - es};
	wire [2*W-1:0] ext = {ms0, {W{1'b0}}} >> (d > W ? W : d);
	wire [W-1:0]   ms = ext[2*W-1:W] | {{(W - 1){1'b0}}, |ext[W-1:0]};

	wire         sub = big[EW+MW] ^ sml[EW+MW];
	wire [W:0]   sum = sub ? {1'b0, mb} - {1'b0, ms} : {1'b0, mb} + {1'b0, ms};

	// Position of the leading one of sum (bit W after a carry, lower after cancellation).
	function [7:0] lead(input [W:0] v);
		integer i;
		begin
			lead = 8'd0;
			for (i = 0; i <= W; i = i + 1)
				if (v[i])
					lead = i[7:0];
		end
	endfunction

	wire [31:0] p = {24'd0, lead(sum)};
	wire [W:0]  n = sum << (W - p);		// leading one at bit W
	wire [MW-1:0] f = n[W-1:4];
	wire        up = n[3] & (|n[2:0] | f[0]);
	wire [MW:0] r = {1'b0, f} + {{MW{1'b0}}, up};
	// exponent of the leading one: eb + p - (W - 1), plus a rounding carry
	wire signed [31:0] e = $signed({{(32 - EW){1'b0}}, eb}) + $signed(p) - (W - 1) +
			       $signed({31'd0, r[MW]});

	assign s = sum == 0 || eb == 0 || e <= 0 ? {(EW + MW + 1){1'b0}} :
		   e >= EMAX ? {big[EW+MW], EMAX[EW-1:0] - 1'b1, {MW{1'b1}}} :
		   {big[EW+MW], e[EW-1:0], r[MW-1:0]};
endmodule
