// SPDX-License-Identifier: MIT
//
// act_pe_fp16: the dequantize-first baseline PE (Documentation/hw/activity.rst): the operands
// are dequantized to fp16 before the array, so each PE multiplies fp16 values and accumulates
// in floating point: fp32 (ACC_E 8, ACC_M 23; the fp16 product is exact in it) or fp16
// (ACC_E 5, ACC_M 10; the product is rounded first).
//
// Everything but the datapath is vitsa_pe's, so the comparison isolates the arithmetic: the
// same A pass-through, valid/first flags, shadow and active weight registers and weight bus
// row decode, with 16-bit operands instead of 8-bit codes.
module act_pe_fp16 #(
	parameter ROW = 0,
	parameter RW = 4,
	parameter ACC_E = 8,
	parameter ACC_M = 23
) (
	input  wire                   clk,
	input  wire                   rst,
	input  wire [15:0]            a_in,
	input  wire                   v_in,
	input  wire                   f_in,
	output reg  [15:0]            a_q,
	output reg                    v_q,
	output reg                    f_q,
	input  wire                   w_we,
	input  wire [RW-1:0]          w_row,
	input  wire [15:0]            w_data,
	input  wire [ACC_E+ACC_M:0]   psum_in,
	output reg  [ACC_E+ACC_M:0]   psum_q
);
	reg  [15:0] w_sh, w_act;
	wire [15:0] w_use = f_q ? w_sh : w_act;
	wire [ACC_E+ACC_M:0] prod, sum;

	act_fmul #(.EO(ACC_E), .MO(ACC_M)) mul (.a(a_q), .b(w_use), .p(prod));
	act_fadd #(.EW(ACC_E), .MW(ACC_M)) add (.x(psum_in), .y(prod), .s(sum));

	always @(posedge clk) begin
		a_q <= a_in;
		psum_q <= sum;
		if (f_q)
			w_act <= w_sh;
		if (w_we && w_row == ROW[RW-1:0])
			w_sh <= w_data;
	end

	always @(posedge clk) begin
		if (rst) begin
			v_q <= 1'b0;
			f_q <= 1'b0;
		end else begin
			v_q <= v_in;
			f_q <= f_in;
		end
	end
endmodule
