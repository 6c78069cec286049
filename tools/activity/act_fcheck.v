// SPDX-License-Identifier: MIT
//
// act_fcheck: the baseline PE's arithmetic units side by side, for the bit-exact check
// against the C fp16/fp32 reference (act_fcheck.cpp).
module act_fcheck (
	input  wire [15:0] a,
	input  wire [15:0] b,
	input  wire [31:0] x32,
	input  wire [31:0] y32,
	input  wire [15:0] x16,
	input  wire [15:0] y16,
	output wire [31:0] p32,		// a * b in fp32 (exact)
	output wire [15:0] p16,		// a * b rounded to fp16
	output wire [31:0] s32,		// x32 + y32
	output wire [15:0] s16		// x16 + y16
);
	act_fmul #(.EO(8), .MO(23)) m32 (.a(a), .b(b), .p(p32));
	act_fmul #(.EO(5), .MO(10)) m16 (.a(a), .b(b), .p(p16));
	act_fadd #(.EW(8), .MW(23)) a32 (.x(x32), .y(y32), .s(s32));
	act_fadd #(.EW(5), .MW(10)) a16 (.x(x16), .y(y16), .s(s16));
endmodule
