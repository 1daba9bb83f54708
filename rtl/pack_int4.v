// pack_int4: WP521: A = w0, D = w1 << 22, B = a0 | a1 << 11 (w int4, a uint4), INMODE D+A.
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module pack_int4 (
  input  wire [7:0]  w0,      // weight of lane w=0 (signed; int4: signed 4-bit, sign-extended)
  input  wire [7:0]  w1,      // weight of lane w=1 (0 when the scheme has one weight)
  input  wire [7:0]  a0,      // activation of lane a=0, the code the DSP sees (after the offset)
  input  wire [7:0]  a1,      // activation of lane a=1 (0 when the scheme has one activation)
  input  wire        first,   // stage 0 of a cascade: P = M (+C); otherwise P = PCIN + M (+C)
  output wire [29:0] A,
  output wire [17:0] B,
  output wire [47:0] C,
  output wire [26:0] D,
  output wire [4:0]  INMODE,
  output wire [8:0]  OPMODE
);
  assign A = {{26{w0[3]}}, w0[3:0]};
  assign D = {w1[4:0], 22'd0};
  assign B = {3'd0, a1[3:0], 7'd0, a0[3:0]};
  assign C = 48'd0;
  assign INMODE = 5'b00100;
  assign OPMODE = first ? 9'h005 : 9'h015;
endmodule
`default_nettype wire
