// SPDX-License-Identifier: MIT
//
// vitsa_vec_gelu (Documentation/hw/rtl.rst, "Vector datapaths").
//
// ShiftGELU of one s8 element per cycle, pipelined: sig = vitsa_gelu_sigmoid_ref(x, p) and
// y = x * sig, the element of vitsa_gelu_ref (hw/model/vitsa_iops.c), for parameters that pass
// vitsa_gelu_check (E = shift_exp(0) <= 2^16):
//   big = shift_exp(0), e = shift_exp(-|x|)    stage 0 (two vitsa_vec_exp)
//   F   = floor((2^31 - 1) / (big + e))        stages 1..31, one quotient bit each
//   g   = floor((e * F + 2^16) / 2^17)         the output stage: sigmoid(-|x|) at 2^-14,
//   sig = x < 0 ? g : 2^14 - g                 rounded half up
//   y   = x * sig
// An element sampled with in_valid on one edge leaves LATENCY = 32 edges later (out_valid,
// sig, y registered on that edge); a new element may enter on every edge.  The parameters
// are read only on the sampling edge, so they may change from one element to the next.
module vitsa_vec_gelu (
	input  wire               clk,
	input  wire               rst,
	input  wire               in_valid,
	input  wire signed [7:0]  x,
	input  wire signed [31:0] x0,
	input  wire        [4:0]  n,
	input  wire        [5:0]  k,
	input  wire        [4:0]  j,
	output reg                out_valid,
	output reg         [14:0] sig,
	output reg  signed [31:0] y
);
	localparam STEPS = 31;		// quotient bits of (2^31 - 1) / (big + e)

	wire signed [31:0] xw  = {{24{x[7]}}, x};
	wire signed [31:0] nab = x[7] ? xw : -xw;	// -|x|

	wire [31:0] big, e;
	vitsa_vec_exp u_big (.d(32'sd0), .x0(x0), .n(n), .k(k), .j(j), .e(big));
	vitsa_vec_exp u_e   (.d(nab),    .x0(x0), .n(n), .k(k), .j(j), .e(e));

	// Stage s holds the element after s quotient bits: its x, e, divisor, remainder, F so far.
	reg [STEPS:0] vld;
	reg [7:0]     x_q [0:STEPS];
	reg [31:0]    e_q [0:STEPS];
	reg [31:0]    d_q [0:STEPS];
	reg [31:0]    r_q [0:STEPS];	// < d_q
	reg [30:0]    f_q [0:STEPS];

	always @(posedge clk) begin
		if (rst)
			vld <= {(STEPS + 1){1'b0}};
		else
			vld <= {vld[STEPS-1:0], in_valid};
		x_q[0] <= x;
		e_q[0] <= e;
		d_q[0] <= big + e;
		r_q[0] <= 32'd0;
		f_q[0] <= 31'd0;
	end

	// Restoring division of 2^31 - 1: every dividend bit brought down is a 1.
	genvar s;
	generate
		for (s = 1; s <= STEPS; s = s + 1) begin : g_div
			wire [32:0] cur = {r_q[s-1], 1'b1};
			wire        fit = cur >= {1'b0, d_q[s-1]};
			wire [32:0] nxt = fit ? cur - {1'b0, d_q[s-1]} : cur;

			always @(posedge clk) begin
				x_q[s] <= x_q[s-1];
				e_q[s] <= e_q[s-1];
				d_q[s] <= d_q[s-1];
				r_q[s] <= nxt[31:0];
				f_q[s] <= {f_q[s-1][29:0], fit};
			end
		end
	endgenerate

	wire [63:0]        prod = {32'd0, e_q[STEPS]} * {33'd0, f_q[STEPS]};
	wire [63:0]        sum  = prod + 64'd65536;
	wire [14:0]        g    = sum[31:17];		// <= 2^13 by the bounds
	wire [7:0]         xl   = x_q[STEPS];
	wire [14:0]        sg   = xl[7] ? g : 15'd16384 - g;
	wire signed [31:0] xlw  = {{24{xl[7]}}, xl};

	always @(posedge clk) begin
		out_valid <= rst ? 1'b0 : vld[STEPS];
		sig       <= sg;
		y         <= xlw * {17'd0, sg};
	end
endmodule
