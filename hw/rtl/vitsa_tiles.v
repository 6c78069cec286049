// SPDX-License-Identifier: MIT
//
// vitsa_tiles: walks the tiles of one job, N tile outer, K tile inner, one slot of p cycles
// per tile (Documentation/hw/rtl.rst, "Schedule").  vitsa_ctrl runs two of them, the weight
// feeder and the A feeder, which differ only in when they start.
module vitsa_tiles #(
	parameter ROWS = 16,
	parameter COLS = 16
) (
	input  wire        clk,
	input  wire        rst,
	input  wire        go,		// start at tile 0, slot 0 on this edge
	input  wire [15:0] p,		// slot length
	input  wire [15:0] n,
	input  wire [15:0] k,
	output reg         run,
	output reg  [15:0] slot,	// cycle within the tile's slot
	output reg  [15:0] k0,		// first K index of the tile
	output reg  [15:0] n0,		// first N index of the tile
	output wire        fin		// the last slot of the last tile ends on this edge
);
	localparam [31:0] R32 = ROWS, C32 = COLS;
	wire [15:0] R16 = R32[15:0], C16 = C32[15:0];

	wire slot_end = slot == p - 1'b1;
	wire k_wrap = k0 + R16 >= k;
	wire last = k_wrap && n0 + C16 >= n;

	assign fin = run && slot_end && last;

	always @(posedge clk) begin
		if (rst) begin
			run <= 1'b0;
		end else if (go) begin
			run <= 1'b1;
			slot <= 16'd0;
			k0 <= 16'd0;
			n0 <= 16'd0;
		end else if (run) begin
			slot <= slot_end ? 16'd0 : slot + 1'b1;
			if (slot_end) begin
				run <= !last;
				k0 <= k_wrap ? 16'd0 : k0 + R16;
				n0 <= k_wrap ? n0 + C16 : n0;
			end
		end
	end
endmodule
