// SPDX-License-Identifier: MIT
//
// vitsa_acc: the accumulator memory below one array column and its controller.
//
// Tiles arrive in the order N tile outer, K tile inner, each as a run of valid rows led by
// one with the first flag.  The column counts tiles itself (kt, nt) and rows (m), so no tile
// number travels through the array.  Two stages, one result per cycle:
//   stage 0: a result arrives; the row's accumulator word is read (synchronous read)
//   stage 1: sum = (first K tile ? 0 : word) + result, modulo 2^32; written back, or, on the
//            last K tile, handed to the epilogue with its row and N tile
// A row's next update comes a whole tile (>= ROWS cycles) later, long after the write-back,
// so the read-modify-write needs no bypass.
module vitsa_acc #(
	parameter PSUM_W = 22,
	parameter MW = 10,		// row index width: ACC_DEPTH = 2^MW rows of M
	parameter TW = 16		// K and N tile counter width
) (
	input  wire                     clk,
	input  wire                     start,		// a job starts: forget the last one
	input  wire [TW-1:0]            kt_last,	// K tiles - 1
	input  wire                     in_v,
	input  wire                     in_f,
	input  wire [PSUM_W-1:0]        in_psum,
	output wire [TW-1:0]            tbl_nt,		// stage 1's N tile, for the epilogue table
	output reg                      out_v,
	output reg  [MW-1:0]            out_m,
	output reg  [TW-1:0]            out_nt,
	output reg  [31:0]              out_sum
);
	reg [31:0] mem [0:(1 << MW) - 1];
	reg [31:0] rd;

	// Stage 0 state: the tile and row the next result belongs to.
	reg          seen;			// a tile of this job has begun
	reg [TW-1:0] kt, nt;
	reg [MW-1:0] m_next;

	wire          new_tile = in_v & in_f;
	wire          wrap = kt == kt_last;
	wire [TW-1:0] kt_now = !new_tile ? kt : !seen || wrap ? {TW{1'b0}} : kt + 1'b1;
	wire [TW-1:0] nt_now = !new_tile ? nt : !seen ? {TW{1'b0}} : wrap ? nt + 1'b1 : nt;
	wire [MW-1:0] m_now = new_tile ? {MW{1'b0}} : m_next;

	always @(posedge clk) begin
		if (start) begin
			seen <= 1'b0;
		end else if (in_v) begin
			seen <= 1'b1;
			kt <= kt_now;
			nt <= nt_now;
			m_next <= m_now + 1'b1;
		end
		rd <= mem[m_now];
	end

	// Stage 1.
	reg              v1, kfirst1, klast1;
	reg [MW-1:0]     m1;
	reg [TW-1:0]     nt1;
	reg [PSUM_W-1:0] p1;
	wire [31:0] sum = (kfirst1 ? 32'd0 : rd) + {{(32 - PSUM_W){p1[PSUM_W-1]}}, p1};

	always @(posedge clk) begin
		v1 <= in_v & !start;
		kfirst1 <= kt_now == {TW{1'b0}};
		klast1 <= kt_now == kt_last;
		m1 <= m_now;
		nt1 <= nt_now;
		p1 <= in_psum;
		if (v1 && !klast1)
			mem[m1] <= sum;
		out_v <= v1 & klast1;
		out_m <= m1;
		out_nt <= nt1;
		out_sum <= sum;
	end
	assign tbl_nt = nt1;
endmodule
