// SPDX-License-Identifier: MIT
//
// vitsa_vec_tbtop (Documentation/hw/rtl.rst, "Vector datapaths").
//
// The vector datapaths side by side for the Verilator testbench (tb_vec.cpp): one instance of
// each, every port brought out.  Not part of the device; it only gives Verilator one top.
module vitsa_vec_tbtop (
	input  wire               clk,
	input  wire               rst,
	// integer square root
	input  wire               sq_start,
	input  wire        [63:0] sq_v,
	output wire               sq_busy,
	output wire               sq_done,
	output wire        [31:0] sq_root,
	// row divider
	input  wire               dv_start,
	input  wire        [31:0] dv_num,
	input  wire        [31:0] dv_den,
	output wire               dv_busy,
	output wire               dv_done,
	output wire        [31:0] dv_quo,
	// shift exponential, shared parameters
	input  wire signed [31:0] ex_d,
	input  wire signed [31:0] ex_x0,
	input  wire        [4:0]  ex_n,
	input  wire        [5:0]  ex_k,
	input  wire        [4:0]  ex_j,
	output wire        [31:0] ex_e,
	// normalization: u8 (Shiftmax) and u16 (Shiftmax16)
	input  wire        [31:0] nm_e,
	input  wire        [31:0] nm_f8,
	input  wire        [46:0] nm_f16,
	output wire        [7:0]  nm_p8,
	output wire        [15:0] nm_p16,
	// ShiftGELU, pipelined (the exponential's parameters)
	input  wire               ge_in_valid,
	input  wire signed [7:0]  ge_x,
	output wire               ge_out_valid,
	output wire        [14:0] ge_sig,
	output wire signed [31:0] ge_y
);
	vitsa_vec_sqrt u_sqrt (.clk(clk), .rst(rst), .start(sq_start), .v(sq_v), .busy(sq_busy),
			       .done(sq_done), .root(sq_root));
	vitsa_vec_div u_div (.clk(clk), .rst(rst), .start(dv_start), .num(dv_num), .den(dv_den),
			     .busy(dv_busy), .done(dv_done), .quo(dv_quo));
	vitsa_vec_exp u_exp (.d(ex_d), .x0(ex_x0), .n(ex_n), .k(ex_k), .j(ex_j), .e(ex_e));
	vitsa_vec_norm #(.SHIFT(23), .OW(8), .FW(32)) u_norm8 (.e(nm_e), .f(nm_f8), .p(nm_p8));
	vitsa_vec_norm #(.SHIFT(30), .OW(16), .FW(47)) u_norm16 (.e(nm_e), .f(nm_f16), .p(nm_p16));
	vitsa_vec_gelu u_gelu (.clk(clk), .rst(rst), .in_valid(ge_in_valid), .x(ge_x), .x0(ex_x0),
			       .n(ex_n), .k(ex_k), .j(ex_j), .out_valid(ge_out_valid),
			       .sig(ge_sig), .y(ge_y));
endmodule
