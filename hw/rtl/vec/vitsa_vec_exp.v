// SPDX-License-Identifier: MIT
//
// vitsa_vec_exp (Documentation/hw/rtl.rst, "Vector datapaths").
//
// I-ViT's shift exponential of one element, combinational: e = vitsa_shift_exp_ref(d, x0, n,
// k, j) (hw/model/vitsa_iops.c) for d <= 0 and parameters that pass exp_check (x0 in
// [-2^20, -1], n 1..30, k 0..62, j 0..24):
//   D = d * 2^j                            |D| < 2^55
//   t = D + floor(D / 2) - floor(D / 16)   arithmetic shifts are the floors
//   t = max(t, n * x0)
//   q = floor(t / x0), r = t - x0 * q      a 5-bit restoring division of -t by -x0 (q <= 30)
//   v = floor(r / 2) - x0                  1 <= v <= 2^20
//   e = floor(v * 2^n / 2^(q + k))         the model's 0 for q + k > 62 needs no test:
//                                          v * 2^n < 2^51, so any shift >= 51 gives 0
// Shifts, adds, compares and one small constant-width multiply (n * x0); no divider.
module vitsa_vec_exp (
	input  wire signed [31:0] d,
	input  wire signed [31:0] x0,
	input  wire        [4:0]  n,
	input  wire        [5:0]  k,
	input  wire        [4:0]  j,
	output wire        [31:0] e
);
	wire signed [57:0] dd = {{26{d[31]}}, d} <<< j;
	wire signed [57:0] t  = dd + (dd >>> 1) - (dd >>> 4);
	wire signed [57:0] lo = {{52{1'b0}}, n} * {{26{x0[31]}}, x0};
	wire signed [57:0] tc = t < lo ? lo : t;

	wire signed [57:0] ntc = -tc;
	wire signed [31:0] nx0 = -x0;
	wire [25:0] a  = ntc[25:0];		// -t, at most 30 * 2^20 < 2^25
	wire [20:0] xm = nx0[20:0];		// -x0, 1..2^20

	// q = floor(a / xm), rem = a - xm * q: five quotient bits, q <= n <= 30.
	reg [4:0]  q;
	reg [30:0] r31;
	integer    b;
	always @* begin
		r31 = {5'd0, a};
		q   = 5'd0;
		for (b = 4; b >= 0; b = b - 1)
			if (r31 >= ({10'd0, xm} << b)) begin
				r31  = r31 - ({10'd0, xm} << b);
				q[b] = 1'b1;
			end
	end
	wire [25:0] rem = r31[25:0];		// < xm

	// r = -rem in (x0, 0]: floor(r / 2) = -ceil(rem / 2).
	wire [25:0] hr = (rem + 26'd1) >> 1;
	wire [20:0] v  = xm - hr[20:0];
	wire [6:0]  s  = {2'b00, q} + {1'b0, k};
	wire [63:0] vn = {43'd0, v} << n;
	wire [63:0] sh = vn >> s;		// a shift >= 64 gives 0, as Verilog defines it

	assign e = sh[31:0];
endmodule
