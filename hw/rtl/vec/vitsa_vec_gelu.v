// SPDX-License-Identifier: MIT
//
// vitsa_vec_gelu (Documentation/hw/rtl.rst, "Vector datapaths").
//
// ShiftGELU of one s8 element, combinational: sig = vitsa_gelu_sigmoid_ref(x, p) and
// y = x * sig, the element of vitsa_gelu_ref (hw/model/vitsa_iops.c), for parameters that pass
// vitsa_gelu_check (E = shift_exp(0) <= 2^16):
//   big = shift_exp(0), e = shift_exp(-|x|)
//   F   = floor((2^31 - 1) / (big + e))        31-step restoring division (1 <= big + e <= 2^17)
//   g   = floor((e * F + 2^16) / 2^17)         sigmoid(-|x|) at 2^-14, rounded half up
//   sig = x < 0 ? g : 2^14 - g
// The division is written as one combinational loop; the vector unit's cycle count
// ("its divide pipelined") assumes it cut into stages, which this datapath does not model.
module vitsa_vec_gelu (
	input  wire signed [7:0]  x,
	input  wire signed [31:0] x0,
	input  wire        [4:0]  n,
	input  wire        [5:0]  k,
	input  wire        [4:0]  j,
	output wire        [14:0] sig,
	output wire signed [31:0] y
);
	wire signed [31:0] xw  = {{24{x[7]}}, x};
	wire signed [31:0] nab = x[7] ? xw : -xw;	// -|x|

	wire [31:0] big, e;
	vitsa_vec_exp u_big (.d(32'sd0), .x0(x0), .n(n), .k(k), .j(j), .e(big));
	vitsa_vec_exp u_e   (.d(nab),    .x0(x0), .n(n), .k(k), .j(j), .e(e));

	wire [31:0] den = big + e;
	reg  [30:0] f;
	reg  [32:0] r;
	integer     b;
	always @* begin
		r = 33'd0;
		f = 31'd0;
		for (b = 30; b >= 0; b = b - 1) begin
			r = {r[31:0], 1'b1};		// 2^31 - 1: every dividend bit is 1
			if (r >= {1'b0, den}) begin
				r    = r - {1'b0, den};
				f[b] = 1'b1;
			end
		end
	end

	wire [63:0] prod = {32'd0, e} * {33'd0, f};
	wire [63:0] sum  = prod + 64'd65536;
	wire [14:0] g    = sum[31:17];		// <= 2^13 by the bounds
	assign sig = x[7] ? g : 15'd16384 - g;
	assign y   = xw * {17'd0, sig};
endmodule
