// SPDX-License-Identifier: MIT
//
// act_fmul: fp16 x fp16 multiplier of the dequantize-first baseline PE
// (Documentation/hw/activity.rst).
//
// The product is delivered in a format of EO exponent and MO fraction bits: fp32 (8, 23) holds
// the 22-bit significand product exactly, so no rounding is built; fp16 (5, 10) rounds to
// nearest, ties to even.  Simplifications (activity.rst says when they matter):
// denormal inputs and results are flushed to +0, exponent 31 is read as an ordinary binade
// (no inf or NaN), and a result beyond the largest finite value saturates to it.
module act_fmul #(
	parameter EO = 8,
	parameter MO = 23
) (
	input  wire [15:0]      a,
	input  wire [15:0]      b,
	output wire [EO+MO:0]   p
);
	localparam BO = (1 << (EO - 1)) - 1;	// output exponent bias
	localparam EMAX = (1 << EO) - 2;	// largest finite output exponent (EO < 8: saturate)

	wire        zero = a[14:10] == 5'd0 || b[14:10] == 5'd0;
	wire [21:0] sig = {1'b1, a[9:0]} * {1'b1, b[9:0]};	// in [2^20, 2^22)
	wire        top = sig[21];
	// leading one at bit 21, 21 fraction bits below it
	wire [20:0] frac = top ? sig[20:0] : {sig[19:0], 1'b0};
	wire signed [10:0] e_pre = $signed({6'd0, a[14:10]}) + $signed({6'd0, b[14:10]}) -
				   11'sd30 + BO + {10'd0, top};

	wire [MO-1:0]      f_out;
	wire signed [10:0] e_out;
	generate
		if (MO >= 21) begin : g_exact
			assign f_out = {frac, {(MO - 21){1'b0}}};
			assign e_out = e_pre;
		end else begin : g_round
			wire          g = frac[20 - MO];
			wire          st = |(frac & ((21'd1 << (20 - MO)) - 21'd1));
			wire [MO:0]   r = {1'b0, frac[20 -: MO]} + {{MO{1'b0}}, g & (st | frac[21 - MO])};
			assign f_out = r[MO-1:0];
			assign e_out = e_pre + {10'd0, r[MO]};	// a carry out leaves the fraction 0
		end
	endgenerate

	wire sat = e_out > EMAX;
	assign p = zero || e_out <= 0 ? {(EO + MO + 1){1'b0}} :
		   sat ? {a[15] ^ b[15], EMAX[EO-1:0], {MO{1'b1}}} :
		   {a[15] ^ b[15], e_out[EO-1:0], f_out};
endmodule
