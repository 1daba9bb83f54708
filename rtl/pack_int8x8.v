// pack_int8x8: Xilinx WP486/WP487: A = w0 << 18, D = w1, B = a (int8), INMODE D+A. P = (w0*2^18 + w1) * a.
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module pack_int8x8 (
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
  assign A = {{4{w0[7]}}, w0, 18'd0};
  assign D = {{19{w1[7]}}, w1};
  assign B = {{10{a0[7]}}, a0};
  assign C = 48'd0;
  assign INMODE = 5'b00100;
  assign OPMODE = first ? 9'h005 : 9'h015;
endmodule
`default_nettype wire
