// dsp_stage: one DSP48E2 of a cascade with every port of an operation presented in the same
// cycle t and its P readable in cycle t + DSP_LATENCY (the timing convention of
// harness/fpga/models/splitconv.ts). The slice's own registers are used where UG579 has them;
// the ALU-side ports (C, OPMODE), which the silicon registers at most once, get fabric delay
// registers to meet the operation at the ALU:
//
//   DSP_LATENCY  slice registers (=1; others 0)                         fabric delay on C, OPMODE
//   1            PREG                                                    0
//   2            MREG PREG CREG OPMODEREG                                0
//   3            AREG BREG DREG INMODEREG MREG PREG CREG OPMODEREG       1
//   4            AREG DREG ADREG BREG=2 INMODEREG MREG PREG CREG OPMODEREG 2
//   > 4          as 4, behind DSP_LATENCY - 4 fabric registers on every port
//
// `valid` travels with the operation and becomes the P register's clock enable: without an
// operation P holds (CEP low), as in harness/fpga/sim/splitconv-clock.ts.
`default_nettype none
module dsp_stage #(
  parameter integer DSP_LATENCY = 4
) (
  input  wire        clk,
  input  wire        rst,
  input  wire        valid,
  input  wire [29:0] a,
  input  wire [17:0] b,
  input  wire [47:0] c,
  input  wire [26:0] d,
  input  wire [4:0]  inmode,
  input  wire [8:0]  opmode,
  input  wire [47:0] pcin,
  output wire [47:0] p,
  output wire        p_valid   // P holds an operation's result in this cycle (written at the last edge)
);
  localparam integer K = (DSP_LATENCY > 4) ? 4 : DSP_LATENCY;
  localparam integer PRE = DSP_LATENCY - K;
  localparam integer CTRL = (K >= 3) ? K - 2 : 0;   // fabric delay on C and OPMODE
  localparam integer REG1 = (K >= 2) ? 1 : 0;       // CREG, OPMODEREG, MREG
  localparam integer IREG = (K >= 3) ? 1 : 0;       // AREG, DREG, INMODEREG
  localparam integer BR = (K == 4) ? 2 : IREG;
  localparam integer ADR = (K == 4) ? 1 : 0;

  wire        v0;
  wire [29:0] a0;
  wire [17:0] b0;
  wire [47:0] c0;
  wire [26:0] d0;
  wire [4:0]  i0;
  wire [8:0]  o0;
  fkb_delay #(.W(1 + 30 + 18 + 48 + 27 + 5 + 9), .N(PRE)) u_pre (
    .clk(clk), .rst(rst), .d({valid, a, b, c, d, inmode, opmode}), .q({v0, a0, b0, c0, d0, i0, o0}));

  wire [47:0] c1;
  wire [8:0]  o1;
  fkb_delay #(.W(48 + 9), .N(CTRL)) u_ctrl (.clk(clk), .rst(rst), .d({c0, o0}), .q({c1, o1}));

  // valid at the ALU: K - 1 cycles after the ports
  wire v_alu;
  fkb_delay #(.W(1), .N(K - 1)) u_valid (.clk(clk), .rst(rst), .d(v0), .q(v_alu));
  reg pv;
  always @(posedge clk) pv <= rst ? 1'b0 : v_alu;
  assign p_valid = pv;

  dsp48e2_slice #(
    .AREG(IREG), .BREG(BR), .CREG(REG1), .DREG(IREG), .ADREG(ADR), .MREG(REG1), .PREG(1),
    .INMODEREG(IREG), .OPMODEREG(REG1), .ALUMODEREG(REG1), .CARRYINREG(REG1)
  ) u_dsp (
    .clk(clk), .rst(rst), .ce(1'b1), .cep(v_alu),
    .a(a0), .b(b0), .c(c1), .d(d0), .inmode(i0), .opmode(o1), .alumode(4'b0000), .carryin(1'b0),
    .pcin(pcin), .p(p), .pcout()
  );
endmodule
`default_nettype wire
