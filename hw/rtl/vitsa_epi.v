// SPDX-License-Identifier: MIT
//
// vitsa_epi: the requantizing epilogue of one column (Documentation/hw/vitsa.rst, "Arithmetic").
//
// Holds this column's bias and {mult, shift} for every N tile of the job (loaded through the
// table port before start, as the device reads both tables before it computes) and finishes
// one accumulator per cycle in two stages:
//   E1: x = acc + bias (int32 wrap); p = x * mult, exact in 64 bits
//   E2: q = p, or floor((p + 2^(shift-1)) / 2^shift) as an arithmetic shift; y = q + c_zero
//       clamped to c_type; without requantization y = x
// The table is read in the cycle before E1 (with the accumulator's stage 1), so its word
// arrives with the sum.  Shift must be 0..62, which the descriptor check guarantees; then
// p + 2^(shift-1) cannot overflow 64 bits.
module vitsa_epi #(
	parameter COL = 0,
	parameter COLS = 16,
	parameter MW = 10,
	parameter TW = 16,
	parameter NTW = 6		// table index width: 2^NTW N tiles
) (
	input  wire          clk,
	input  wire          bias_en,
	input  wire          rq_en,
	input  wire [2:0]    c_type,
	input  wire [31:0]   c_zero,
	input  wire [15:0]   n_limit,		// N: columns at or beyond it are padding
	// table write port
	input  wire          tbl_we,
	input  wire [NTW-1:0] tbl_idx,
	input  wire [31:0]   tbl_bias,
	input  wire [31:0]   tbl_mult,
	input  wire [5:0]    tbl_shift,
	// from the accumulator
	input  wire [TW-1:0] tbl_nt,
	input  wire          in_v,
	input  wire [MW-1:0] in_m,
	input  wire [TW-1:0] in_nt,
	input  wire [31:0]   in_sum,
	// one finished result
	output reg           out_v,
	output reg  [MW-1:0] out_m,
	output reg  [15:0]   out_n,
	output reg  [31:0]   out_y
);
	reg [69:0] tbl [0:(1 << NTW) - 1];
	reg [69:0] t;

	always @(posedge clk) begin
		if (tbl_we)
			tbl[tbl_idx] <= {tbl_shift, tbl_mult, tbl_bias};
		t <= tbl[tbl_nt[NTW-1:0]];
	end

	wire [31:0] bias = bias_en ? t[31:0] : 32'd0;
	wire [31:0] mult = t[63:32];
	wire [5:0]  shift = t[69:64];
	wire [31:0] x = in_sum + bias;
	wire [31:0] n_col = in_nt * COLS + COL;

	// E1
	reg               v2, rq2;
	reg  [MW-1:0]     m2;
	reg  [15:0]       n2;
	reg  [31:0]       x2;
	reg  signed [63:0] p2;
	reg  [5:0]        s2;

	always @(posedge clk) begin
		v2 <= in_v && n_col < {16'd0, n_limit};
		rq2 <= rq_en;
		m2 <= in_m;
		n2 <= n_col[15:0];
		x2 <= x;
		p2 <= $signed(x) * $signed(mult);
		s2 <= shift;
	end

	// E2: round half up, then saturate (64-bit sums cannot overflow: |p| <= 2^62).
	wire signed [63:0] half = s2 == 6'd0 ? 64'sd0 : 64'sd1 <<< (s2 - 6'd1);
	wire signed [63:0] q = (p2 + half) >>> s2;
	wire signed [63:0] y = q + {{32{c_zero[31]}}, c_zero};

	reg signed [63:0] lo, hi;
	always @(*) begin
		case (c_type)
		3'd0: begin lo = -64'sd128;   hi = 64'sd127;   end	// S8
		3'd1: begin lo = 64'sd0;      hi = 64'sd255;   end	// U8
		3'd2: begin lo = -64'sd8;     hi = 64'sd7;     end	// S4
		3'd3: begin lo = 64'sd0;      hi = 64'sd15;    end	// U4
		default: begin lo = -64'sd32768; hi = 64'sd32767; end	// S16
		endcase
	end
	wire signed [63:0] sat = y < lo ? lo : y > hi ? hi : y;

	always @(posedge clk) begin
		out_v <= v2;
		out_m <= m2;
		out_n <= n2;
		out_y <= rq2 ? sat[31:0] : x2;
	end
endmodule
