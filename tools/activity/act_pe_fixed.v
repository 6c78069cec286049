// SPDX-License-Identifier: MIT
//
// act_pe_fixed: vitsa_pe with its operand types tied (A_TYPE, B_TYPE: 0 S8, 1 U8, 2 S4, 3 U4),
// for yosys only: the cells a PE built for one mode would need, next to the dual-mode PE's.
module act_pe_fixed #(
	parameter A_TYPE = 0,
	parameter B_TYPE = 0
) (
	input  wire        clk,
	input  wire        rst,
	input  wire [7:0]  a_in,
	input  wire        v_in,
	input  wire        f_in,
	output wire [7:0]  a_q,
	output wire        v_q,
	output wire        f_q,
	input  wire        w_we,
	input  wire [3:0]  w_row,
	input  wire [7:0]  w_data,
	input  wire [21:0] psum_in,
	output wire [21:0] psum_q
);
	vitsa_pe pe (.clk(clk), .rst(rst), .a_type(A_TYPE[1:0]), .b_type(B_TYPE[1:0]),
		     .a_in(a_in), .v_in(v_in), .f_in(f_in), .a_q(a_q), .v_q(v_q), .f_q(f_q),
		     .w_we(w_we), .w_row(w_row), .w_data(w_data), .psum_in(psum_in),
		     .psum_q(psum_q));
endmodule
