// overpack_tb: drives one overpack_unit per decode mode (MODE 0..5, rtl/overpack_unit.v) with the
// same operand stream and records every result. Works with Verilator (rtl/tb/verilator_main.cpp
// toggles clk) and Icarus. Parameters: the layout (overpack_unit's), DEPTH (stimulus lines).
//
// Reads tb.hex and stim.hex (stream_stimulus.vh); a stimulus line is
//   {in_valid (4 bits), w (2 x 8 bits), a (8 x 8 bits)}, each operand in the low WB / AB bits
//   of its byte, w_0 and a_0 least significant
// Writes:
//   out.txt   one line per result: "cycle valid_mask P_naive P_approx lanes_0 .. lanes_5" (hex;
//             cycle 0 = the first stimulus cycle; valid_mask: bit m = mode m's out_valid)
`default_nettype none
module overpack_tb #(
  parameter integer WB = 4,
  parameter integer AB = 4,
  parameter integer N = 2,
  parameter integer M = 2,
  parameter integer S = 7,
  parameter integer ASIGNED = 0,
  parameter integer BCOMP = 0,
  parameter integer DSP_LATENCY = 4,
  parameter integer DEPTH = 65536
) (
  input wire clk
);
  localparam integer K = N * M;
  localparam integer LW = WB + AB + 1;
  localparam integer SW = 4 + 16 + 64;
`include "stream_stimulus.vh"
  wire [N*WB-1:0] w;
  wire [M*AB-1:0] a;
  genvar g;
  generate
    for (g = 0; g < N; g = g + 1) begin : wf
      assign w[g*WB +: WB] = s[64 + 8*g +: WB];
    end
    for (g = 0; g < M; g = g + 1) begin : af
      assign a[g*AB +: AB] = s[8*g +: AB];
    end
  endgenerate

  wire [5:0] ov;
  wire [K*LW-1:0] lanes [0:5];
  wire [47:0] p [0:5];
  generate
    for (g = 0; g < 6; g = g + 1) begin : mode
      overpack_unit #(.WB(WB), .AB(AB), .N(N), .M(M), .S(S), .ASIGNED(ASIGNED), .BCOMP(BCOMP), .MODE(g), .DSP_LATENCY(DSP_LATENCY)) u (
        .clk(clk), .rst(rst), .in_valid(in_valid), .w(w), .a(a), .out_valid(ov[g]), .lanes(lanes[g]), .p_out(p[g]));
    end
  endgenerate

  always @(posedge clk) begin
    if (running && ov != 6'd0)
      $fdisplay(f, "%0d %x %x %x %x %x %x %x %x %x", cycle, ov, p[0], p[5], lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5]);
    if (done) begin
      $fclose(f);
      $finish;
    end
  end
endmodule
`default_nettype wire
