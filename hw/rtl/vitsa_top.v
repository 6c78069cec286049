// SPDX-License-Identifier: MIT
//
// vitsa_top: the vitsa GEMM core (Documentation/hw/rtl.rst).
//
// One job at a time: the configuration is latched on start; the DMA side keeps the next A row
// (ROWS elements of one row of A, for the K tile in order) and the next weight row (COLS
// elements of one row of B) on the stream ports and the core takes them at fixed cycles of its
// schedule; results leave per column, tagged with their row and column.  The cycle count of a
// job is the number of clock edges after the one that samples start, up to and including the
// one that raises done; it equals vitsa_model_cycles() (hw/model/vitsa_cycles.c).
//
// The feeder cleans what the streams carry: lanes beyond K or N are zeroed (so is the unused
// high nibble of int4 elements), so the DMA may deliver whole bursts without padding.
module vitsa_top #(
	parameter ROWS = 16,
	parameter COLS = 16,
	parameter MW = 10,		// accumulator depth 2^MW: M <= 1024
	parameter NTW = 8		// epilogue table depth 2^NTW N tiles: N <= 256 * COLS
) (
	input  wire               clk,
	input  wire               rst,
	// job configuration (descriptor fields), sampled with start
	input  wire [15:0]        cfg_m,
	input  wire [15:0]        cfg_n,
	input  wire [15:0]        cfg_k,
	input  wire [1:0]         cfg_a_type,	// VITSA_DTYPE_S8 .. U4
	input  wire [1:0]         cfg_b_type,
	input  wire [2:0]         cfg_c_type,	// S8 .. S16 with cfg_requant, else ignored
	input  wire               cfg_bias,
	input  wire               cfg_requant,
	input  wire [31:0]        cfg_c_zero,
	input  wire               start,
	output wire               busy,
	output wire               done,
	output reg                underrun,	// a row was taken while its stream was empty
	// epilogue tables: bias and {mult, shift} of column tbl_col of N tile tbl_idx
	input  wire               tbl_we,
	input  wire [15:0]        tbl_col,
	input  wire [NTW-1:0]     tbl_idx,
	input  wire [31:0]        tbl_bias,
	input  wire [31:0]        tbl_mult,
	input  wire [5:0]         tbl_shift,
	// operand streams
	input  wire               a_valid,
	output wire               a_ready,
	input  wire [ROWS*8-1:0]  a_data,
	input  wire               w_valid,
	output wire               w_ready,
	input  wire [COLS*8-1:0]  w_data,
	// results: column c's lane, when out_valid[c]
	output wire [COLS-1:0]    out_valid,
	output wire [COLS*MW-1:0] out_m,
	output wire [COLS*16-1:0] out_n,
	output wire [COLS*32-1:0] out_y
);
	localparam RW = ROWS > 1 ? $clog2(ROWS) : 1;
	localparam PSUM_W = 18 + $clog2(ROWS);	// ROWS products of 17 bits, exactly
	localparam TW = 16;

	reg [15:0] m, n, k;
	reg [1:0]  a_type, b_type;
	reg [2:0]  c_type;
	reg        bias_en, rq_en;
	reg [31:0] c_zero;
	reg [15:0] kt_last;
	wire [31:0] kt_last_w = ({16'd0, cfg_k} - 32'd1) / ROWS;

	always @(posedge clk) begin
		if (start && !busy) begin
			m <= cfg_m;
			n <= cfg_n;
			k <= cfg_k;
			a_type <= cfg_a_type;
			b_type <= cfg_b_type;
			c_type <= cfg_c_type;
			bias_en <= cfg_bias;
			rq_en <= cfg_requant;
			c_zero <= cfg_c_zero;
			kt_last <= kt_last_w[15:0];
		end
	end

	wire          w_take, a_take, a_first;
	wire [RW-1:0] w_row;
	wire [15:0]   w_k0, w_n0, a_k0;

	vitsa_ctrl #(.ROWS(ROWS), .COLS(COLS), .RW(RW)) ctrl (
		.clk(clk), .rst(rst), .start(start), .m(m), .n(n), .k(k),
		.busy(busy), .done(done),
		.w_take(w_take), .w_row(w_row), .w_k0(w_k0), .w_n0(w_n0),
		.a_take(a_take), .a_first(a_first), .a_k0(a_k0));

	assign a_ready = a_take;
	assign w_ready = w_take;

	always @(posedge clk) begin
		if (rst || (start && !busy))
			underrun <= 1'b0;
		else if ((a_take && !a_valid) || (w_take && !w_valid))
			underrun <= 1'b1;
	end

	// Feeder: keep lanes inside the matrices, and only the nibble of an int4 element.
	function [7:0] clean(input [7:0] x, input [1:0] t, input keep);
		clean = !keep ? 8'd0 : t[1] ? {4'd0, x[3:0]} : x;
	endfunction

	wire [ROWS*8-1:0] a_row;
	wire [COLS*8-1:0] w_row_data;
	wire              w_row_in_k = {16'd0, w_k0} + {{(32 - RW){1'b0}}, w_row} < {16'd0, k};
	genvar i;
	generate
		for (i = 0; i < ROWS; i = i + 1) begin : g_afeed
			assign a_row[i*8 +: 8] = clean(a_data[i*8 +: 8], a_type,
						       a_take && {16'd0, a_k0} + i < {16'd0, k});
		end
		for (i = 0; i < COLS; i = i + 1) begin : g_wfeed
			assign w_row_data[i*8 +: 8] = clean(w_data[i*8 +: 8], b_type,
							    w_row_in_k && {16'd0, w_n0} + i < {16'd0, n});
		end
	endgenerate

	wire [COLS*PSUM_W-1:0] psum;
	wire [COLS-1:0]        pv, pf;

	vitsa_array #(.ROWS(ROWS), .COLS(COLS), .RW(RW), .PSUM_W(PSUM_W)) array (
		.clk(clk), .rst(rst), .a_type(a_type), .b_type(b_type),
		.a_row(a_row), .a_v(a_take), .a_f(a_take && a_first),
		.w_we(w_take), .w_row(w_row), .w_data(w_row_data),
		.out_psum(psum), .out_v(pv), .out_f(pf));

	generate
		for (i = 0; i < COLS; i = i + 1) begin : g_col
			wire          av;
			wire [MW-1:0] am;
			wire [TW-1:0] ant, tnt;
			wire [31:0]   asum;

			vitsa_acc #(.PSUM_W(PSUM_W), .MW(MW), .TW(TW)) acc (
				.clk(clk), .start(start && !busy), .kt_last(kt_last),
				.in_v(pv[i]), .in_f(pf[i]), .in_psum(psum[i*PSUM_W +: PSUM_W]),
				.tbl_nt(tnt), .out_v(av), .out_m(am), .out_nt(ant), .out_sum(asum));

			vitsa_epi #(.COL(i), .COLS(COLS), .MW(MW), .TW(TW), .NTW(NTW)) epi (
				.clk(clk), .bias_en(bias_en), .rq_en(rq_en), .c_type(c_type),
				.c_zero(c_zero), .n_limit(n),
				.tbl_we(tbl_we && tbl_col == i), .tbl_idx(tbl_idx),
				.tbl_bias(tbl_bias), .tbl_mult(tbl_mult), .tbl_shift(tbl_shift),
				.tbl_nt(tnt), .in_v(av), .in_m(am), .in_nt(ant), .in_sum(asum),
				.out_v(out_valid[i]), .out_m(out_m[i*MW +: MW]),
				.out_n(out_n[i*16 +: 16]), .out_y(out_y[i*32 +: 32]));
		end
	endgenerate
endmodule
