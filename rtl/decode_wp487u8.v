// decode_wp487u8: lo = sext19(P[18:0]); hi = sext29(P[47:19]) + P[18].
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module decode_wp487u8 (
  input  wire [47:0]  p,
  output wire [191:0] lanes   // lane i (least significant first) at [48*i +: 48], signed; unused lanes 0
);
  wire [47:0] lo = {{29{p[18]}}, p[18:0]};
  wire [47:0] hi = {{19{p[47]}}, p[47:19]} + {47'd0, p[18]};
  assign lanes = {96'd0, hi, lo};
endmodule
`default_nettype wire
