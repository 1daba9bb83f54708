// overpack_correction: the fabric side of an overpacked multiply's decode (everything but the
// pack wiring and the DSP): the MR correction inputs from the operands (overpack_corr, MR modes
// only), delayed LATENCY cycles to meet their P, and the decode (overpack_decode). Operands in
// cycle t, P of those operands in cycle t + LATENCY, lanes combinational from P. Parameters as
// overpack_unit; this is the part whose cost docs/overpacking.md compares with the paper's Table II.
`default_nettype none
module overpack_correction #(
  parameter integer WB = 4,
  parameter integer AB = 4,
  parameter integer N = 2,
  parameter integer M = 2,
  parameter integer S = 7,
  parameter integer ASIGNED = 0,
  parameter integer MODE = 0,
  parameter integer LATENCY = 4
) (
  input  wire                      clk,
  input  wire                      rst,
  input  wire [N*WB-1:0]           w,
  input  wire [M*AB-1:0]           a,
  input  wire [47:0]               p,
  output wire [N*M*(WB+AB+1)-1:0]  lanes
);
  localparam integer K = N * M;
  localparam integer PB = WB + AB;
  localparam integer DL = (PB > S) ? PB - S : 0;
  localparam integer CW = (DL > 0) ? DL : 1;
  localparam integer MR = (MODE == 2 || MODE == 3 || MODE == 4) ? 1 : 0;

  wire [K*CW-1:0] c_at_p;
  generate
    if (MR != 0 && DL > 0) begin : mr
      wire [K*CW-1:0] c;
      overpack_corr #(.WB(WB), .AB(AB), .N(N), .M(M), .ASIGNED(ASIGNED), .DL(DL)) u_corr (.w(w), .a(a), .c(c));
      fkb_delay #(.W(K * CW), .N(LATENCY)) u_delay (.clk(clk), .rst(rst), .d(c), .q(c_at_p));
    end else begin : nomr
      assign c_at_p = {K*CW{1'b0}};
    end
  endgenerate

  overpack_decode #(.PB(PB), .S(S), .K(K), .MODE(MODE)) u_decode (.p(p), .c(c_at_p), .lanes(lanes));
endmodule
`default_nettype wire
