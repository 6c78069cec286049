// SPDX-License-Identifier: MIT
//
// vitsa_vec_div (Documentation/hw/rtl.rst, "Vector datapaths").
//
// The vector unit's row divider: quo = floor(num / den) of 32-bit unsigned operands (Shiftmax's
// F = floor((2^31 - 1) / S)).  Restoring, one quotient bit per cycle: the edge that samples
// start latches the operands, the next VITSA_VEC_DIV_LATENCY = 32 edges each retire one bit,
// and the 32nd raises done (high one cycle) with quo final.  den = 0 gives all ones (the
// model never divides by zero: S >= 1).  start while busy is ignored.
module vitsa_vec_div (
	input  wire        clk,
	input  wire        rst,
	input  wire        start,
	input  wire [31:0] num,
	input  wire [31:0] den,
	output reg         busy,
	output reg         done,
	output reg  [31:0] quo
);
	reg [31:0] nb;		// dividend bits not yet brought down, top bit first
	reg [31:0] dv;
	reg [31:0] rem;		// < dv
	reg [4:0]  cnt;		// steps left after this one

	wire [32:0] cur = {rem, nb[31]};
	wire        fit = cur >= {1'b0, dv};
	wire [32:0] nxt = fit ? cur - {1'b0, dv} : cur;

	always @(posedge clk) begin
		if (rst) begin
			busy <= 1'b0;
			done <= 1'b0;
			cnt  <= 5'd0;
		end else begin
			done <= 1'b0;
			if (start && !busy) begin
				nb   <= num;
				dv   <= den;
				rem  <= 32'd0;
				quo  <= 32'd0;
				cnt  <= 5'd31;
				busy <= 1'b1;
			end else if (busy) begin
				rem  <= nxt[31:0];
				quo  <= {quo[30:0], fit};
				nb   <= {nb[30:0], 1'b0};
				cnt  <= cnt - 5'd1;
				if (cnt == 5'd0) begin
					busy <= 1'b0;
					done <= 1'b1;
				end
			end
		end
	end
endmodule
