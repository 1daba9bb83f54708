// pack_wp487u8: WP487 UINT8: A = {a0, 11'b0, a1}, B = w, C = w << 27 added (OPMODE W = C) when a0[7] = 1.
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module pack_wp487u8 (
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
  assign A = {3'd0, a0, 11'd0, a1};
  assign B = {{10{w0[7]}}, w0};
  assign C = a0[7] ? {{13{w0[7]}}, w0, 27'd0} : 48'd0;
  assign D = 27'd0;
  assign INMODE = 5'b00000;
  assign OPMODE = (first ? 9'h005 : 9'h015) | (a0[7] ? 9'h180 : 9'h000);
endmodule
`default_nettype wire
