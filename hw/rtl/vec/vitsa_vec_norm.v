// SPDX-License-Identifier: MIT
//
// vitsa_vec_norm (Documentation/hw/rtl.rst, "Vector datapaths").
//
// Shiftmax's normalization of one element given its row's factor F, combinational:
//   p = min(2^OW - 1, floor((e * F + 2^(SHIFT - 1)) / 2^SHIFT))     rounded half up
// SHIFT 23, OW 8: the u8 probability of vitsa_shiftmax_ref (F = floor((2^31 - 1) / S));
// SHIFT 30, OW 16: vitsa_shiftmax16_ref's P (F = floor(2^46 / S), so f is 47 bits wide there).
// The product is 64 bits as in the model; the model's bounds keep e * F + 2^(SHIFT-1) < 2^63.
module vitsa_vec_norm #(
	parameter SHIFT = 23,
	parameter OW    = 8,
	parameter FW    = 32
) (
	input  wire [31:0]   e,
	input  wire [FW-1:0] f,
	output wire [OW-1:0] p
);
	wire [63:0] prod = {32'd0, e} * {{(64 - FW){1'b0}}, f};
	wire [63:0] sum  = prod + (64'd1 << (SHIFT - 1));
	wire [63:0] quo  = sum >> SHIFT;
	wire        sat  = quo > ((64'd1 << OW) - 64'd1);

	assign p = sat ? {OW{1'b1}} : quo[OW-1:0];
endmodule
