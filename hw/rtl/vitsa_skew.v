// SPDX-License-Identifier: MIT
//
// vitsa_skew: a DEPTH-stage delay line (DEPTH = 0 is a wire).  The array uses one per row
// for A and one per column for the weight bus; rst clears the stages so no stale valid or
// write-enable bit survives a reset.
module vitsa_skew #(
	parameter W = 8,
	parameter DEPTH = 1
) (
	input  wire         clk,
	input  wire         rst,
	input  wire [W-1:0] d,
	output wire [W-1:0] q
);
	generate
		if (DEPTH == 0) begin : g_wire
			assign q = d;
		end else begin : g_regs
			reg [W-1:0] st [0:DEPTH-1];
			integer i;

			always @(posedge clk) begin
				st[0] <= rst ? {W{1'b0}} : d;
				for (i = 1; i < DEPTH; i = i + 1)
					st[i] <= rst ? {W{1'b0}} : st[i - 1];
			end
			assign q = st[DEPTH-1];
		end
	endgenerate
endmodule
