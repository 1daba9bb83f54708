// decode_unpacked: the whole 48-bit P is the one lane.
// Written from /work/shared/golden/dsp48e2/README.md ("Packing semantics") and harness/dsp/schemes.ts;
// must equal scheme.ports(...) / decodeLanes(...) there bit for bit (test/cosim.test.ts checks it).
`default_nettype none
module decode_unpacked (
  input  wire [47:0]  p,
  output wire [191:0] lanes   // lane i (least significant first) at [48*i +: 48], signed; unused lanes 0
);
  assign lanes = {144'd0, p};
endmodule
`default_nettype wire
