// decode_int4: sext11(P[10:0]), sext11(P[21:11]) + P[10], sext11(P[32:22]) + P[21], sext15(P[47:33]) + P[32].
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module decode_int4 (
  input  wire [47:0]  p,
  output wire [191:0] lanes   // lane i (least significant first) at [48*i +: 48], signed; unused lanes 0
);
  wire [47:0] l0 = {{37{p[10]}}, p[10:0]};
  wire [47:0] l1 = {{37{p[21]}}, p[21:11]} + {47'd0, p[10]};
  wire [47:0] l2 = {{37{p[32]}}, p[32:22]} + {47'd0, p[21]};
  wire [47:0] l3 = {{33{p[47]}}, p[47:33]} + {47'd0, p[32]};
  assign lanes = {l3, l2, l1, l0};
endmodule
`default_nettype wire
