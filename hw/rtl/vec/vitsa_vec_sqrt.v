// SPDX-License-Identifier: MIT
//
// vitsa_vec_sqrt (Documentation/hw/rtl.rst, "Vector datapaths").
//
// I-LayerNorm's integer square root: root = floor(sqrt(v)) of a 64-bit v, as
// vitsa_isqrt64_ref (hw/model/vitsa_iops.c).  Restoring, digit by digit, two result bits per
// cycle: the edge that samples start latches v, the next VITSA_VEC_SQRT_LATENCY = 16 edges each
// retire two bits, and the 16th raises done (high one cycle) with root final.  start while
// busy is ignored.
module vitsa_vec_sqrt (
	input  wire        clk,
	input  wire        rst,
	input  wire        start,
	input  wire [63:0] v,
	output reg         busy,
	output reg         done,
	output reg  [31:0] root
);
	reg [63:0] rad;		// radicand bits not yet brought down, top pair first
	reg [33:0] rem;		// remainder v' - root^2 of the bits so far, <= 2 * root
	reg [3:0]  cnt;		// steps left after this one

	// One restoring step: bring down a pair, try the next root bit 1 ((root << 2) | 1 is
	// (2 root + 1)^2 - (2 root)^2 shifted into the remainder's scale), keep it if it fits.
	function automatic [65:0] step(input [33:0] r, input [31:0] q, input [1:0] pair);
		reg [35:0] cur, trial;
		begin
			cur   = {r, pair};
			trial = {2'b00, q, 2'b01};
			if (cur >= trial)
				step = {cur[33:0] - trial[33:0], q[30:0], 1'b1};
			else
				step = {cur[33:0], q[30:0], 1'b0};
		end
	endfunction

	wire [65:0] s1 = step(rem, root, rad[63:62]);
	wire [65:0] s2 = step(s1[65:32], s1[31:0], rad[61:60]);

	always @(posedge clk) begin
		if (rst) begin
			busy <= 1'b0;
			done <= 1'b0;
			cnt  <= 4'd0;
		end else begin
			done <= 1'b0;
			if (start && !busy) begin
				rad  <= v;
				rem  <= 34'd0;
				root <= 32'd0;
				cnt  <= 4'd15;
				busy <= 1'b1;
			end else if (busy) begin
				rem  <= s2[65:32];
				root <= s2[31:0];
				rad  <= {rad[59:0], 4'd0};
				cnt  <= cnt - 4'd1;
				if (cnt == 4'd0) begin
					busy <= 1'b0;
					done <= 1'b1;
				end
			end
		end
	end
endmodule
