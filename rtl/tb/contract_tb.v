// contract_tb: drives a user's packed dot-product cascade unit (the port contract of
// rtl/CONTRACT.md) with a stimulus stream and records every output. The top's module name is
// the macro FKB_USER_TOP; when the design declares a SCHEME parameter, FKB_USER_HAS_SCHEME is
// defined and SCHEME is set too. Works with Verilator (C++ main toggles clk) and Icarus.
//
// Reads tb.hex and stim.hex (stream_stimulus.vh); a stimulus line is
//   {in_valid (4 bits: 0 or 1), w_in (L*16 bits), a_in (L*16 bits)}
// Writes:
//   out.txt   one line per cycle with out_valid = 1: "cycle p_out(hex 12) lanes_out(hex 48)"
//             (cycle 0 = the first stimulus cycle, after reset)
`default_nettype none
`ifndef FKB_USER_TOP
`define FKB_USER_TOP user_cascade
`endif
module contract_tb #(
  parameter integer L = 4,
  parameter integer SCHEME = 1,
  parameter integer DEPTH = 65536
) (
  input wire clk
);
  localparam integer SW = 4 + L * 32;
`include "stream_stimulus.vh"
  wire [L*16-1:0] w_in = s[L*16 +: L*16];
  wire [L*16-1:0] a_in = s[0 +: L*16];
  wire out_valid;
  wire [47:0] p_out;
  wire [191:0] lanes_out;

`ifdef FKB_USER_HAS_SCHEME
  `FKB_USER_TOP #(.L(L), .SCHEME(SCHEME)) dut (
`else
  `FKB_USER_TOP #(.L(L)) dut (
`endif
    .clk(clk), .rst(rst), .in_valid(in_valid), .w_in(w_in), .a_in(a_in),
    .out_valid(out_valid), .p_out(p_out), .lanes_out(lanes_out));

  always @(posedge clk) begin
    if (running && out_valid) $fdisplay(f, "%0d %012x %048x", cycle, p_out, lanes_out);
    if (done) begin
      $fclose(f);
      $finish;
    end
  end
endmodule
`default_nettype wire
