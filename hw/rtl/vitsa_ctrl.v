// SPDX-License-Identifier: MIT
//
// vitsa_ctrl: the static schedule of one job (Documentation/hw/rtl.rst, "Schedule").
//
// Tiles run N tile outer, K tile inner; each takes a slot of P = max(M, ROWS) cycles.  Two
// feeders walk the tiles with the same slot length:
//   weights: tile i's ROWS weight rows are taken in the first ROWS cycles of slot i (cycle
//            i*P + j for row j), into the shadow registers while tile i-1 computes
//   A:       starts ROWS-2 cycles later; tile i's M rows are taken at ROWS-2 + i*P + m,
//            the rest of a slot (m >= M) are bubbles
// After the A feeder's last slot, DRAIN cycles bring the last row through the skew, the
// array, the accumulator and the epilogue, and done rises with that row's last result.
// There are no stalls: the operand streams must be ready whenever a row is taken.
module vitsa_ctrl #(
	parameter ROWS = 16,
	parameter COLS = 16,
	parameter RW = 4
) (
	input  wire          clk,
	input  wire          rst,
	input  wire          start,
	input  wire [15:0]   m,
	input  wire [15:0]   n,
	input  wire [15:0]   k,
	output reg           busy,
	output reg           done,
	// weight feeder
	output wire          w_take,
	output wire [RW-1:0] w_row,
	output wire [15:0]   w_k0,		// first K index of the tile being loaded
	output wire [15:0]   w_n0,		// first N index
	// A feeder
	output wire          a_take,
	output wire          a_first,
	output wire [15:0]   a_k0
);
	// skew (ROWS-1) + across the columns (COLS-1) + the last MAC + accumulator (2) +
	// epilogue (2): cycles from the last A slot's end to its last result.
	localparam [31:0] DRAIN = (ROWS - 1) + (COLS - 1) + 1 + 2 + 2;
	localparam [31:0] R32 = ROWS;
	wire [15:0] R16 = R32[15:0];

	wire [15:0] p = m > R16 ? m : R16;	// slot length

	reg        drain;
	reg [15:0] a_lead, d_cnt;
	wire       w_run, a_run, a_fin;
	wire       w_fin;		// unused: the A feeder ends the job
	wire [15:0] a_n0;		// unused: the A stream is ordered by the feeder
	wire [15:0] w_slot, a_slot;
	wire       go = start && !busy;

	vitsa_tiles #(.ROWS(ROWS), .COLS(COLS)) w_tiles (
		.clk(clk), .rst(rst), .go(go), .p(p), .n(n), .k(k),
		.run(w_run), .slot(w_slot), .k0(w_k0), .n0(w_n0), .fin(w_fin));

	// The A feeder starts ROWS-2 cycles after the weight feeder.
	vitsa_tiles #(.ROWS(ROWS), .COLS(COLS)) a_tiles (
		.clk(clk), .rst(rst), .go(ROWS == 2 ? go : a_lead == 16'd1), .p(p), .n(n), .k(k),
		.run(a_run), .slot(a_slot), .k0(a_k0), .n0(a_n0), .fin(a_fin));

	assign w_take = w_run && w_slot < R16;
	assign w_row = w_slot[RW-1:0];
	assign a_take = a_run && a_slot < m;
	assign a_first = a_run && a_slot == 16'd0;

	always @(posedge clk) begin
		if (rst)
			a_lead <= 16'd0;
		else if (go)
			a_lead <= ROWS == 2 ? 16'd0 : R16 - 16'd2;
		else if (a_lead != 16'd0)
			a_lead <= a_lead - 1'b1;
	end

	always @(posedge clk) begin
		if (rst) begin
			busy <= 1'b0;
			done <= 1'b0;
			drain <= 1'b0;
		end else if (go) begin
			busy <= 1'b1;
			done <= 1'b0;
		end else if (a_fin) begin
			drain <= 1'b1;
			d_cnt <= DRAIN[15:0];
		end else if (drain) begin
			d_cnt <= d_cnt - 1'b1;
			if (d_cnt == 16'd1) begin
				drain <= 1'b0;
				busy <= 1'b0;
				done <= 1'b1;
			end
		end
	end
endmodule
