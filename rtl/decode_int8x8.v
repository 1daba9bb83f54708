// decode_int8x8: lo = sext18(P[17:0]); hi = sext30(P[47:18]) + P[17] (the borrow of a negative low lane).
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module decode_int8x8 (
  input  wire [47:0]  p,
  output wire [191:0] lanes   // lane i (least significant first) at [48*i +: 48], signed; unused lanes 0
);
  wire [47:0] lo = {{30{p[17]}}, p[17:0]};
  wire [47:0] hi = {{18{p[47]}}, p[47:18]} + {47'd0, p[17]};
  assign lanes = {96'd0, hi, lo};
endmodule
`default_nettype wire
