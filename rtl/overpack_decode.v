// overpack_decode: splits the P of an overpacked multiply into its K = N*M lanes, as
// decodeOverpacked in harness/dsp/overpack.ts (docs/overpacking.md, "The decode, as a
// specification for RTL"; Sommer et al., FPL 2022, arXiv:2203.11028, §IV, §V). Combinational.
//
//   F_k = P[k*S + PB - 1 : k*S],  b_k = P[k*S - 1] (b_0 = 0),  sext = PB-bit two's complement
//   MODE 0 naive     r_k = sext(F_k)
//   MODE 1 round     r_k = sext(F_k) + b_k                       (full correction, round half up)
//   MODE 2 mr        r_k = sext(F_k - (c_k << S))                (MR-Overpacking)
//   MODE 3 mr-round  r_k = sext(F_k - (c_k << S)) + b_k
//   MODE 4 exact     r_k = sext(F_k - (c_k << S) - f_k),  f_k = (sum_(i<k) r_i << i*S) >>> k*S
//   MODE 5 approx    r_k = sext(F_k)  (of a P whose C port anticipated the borrows: overpack_pack)
//
// (MODE numbers are DECODE_MODES' order.) Subtractions are mod 2^PB. c_k (CW bits, the low
// DL = PB - S bits used) comes from overpack_corr, delayed to meet P. Lane k leaves at
// [k*(PB+1) +: PB+1], signed (the + b_k needs one bit more).
`default_nettype none
module overpack_decode #(
  parameter integer PB = 8,
  parameter integer S = 7,
  parameter integer K = 4,
  parameter integer MODE = 0,
  parameter integer DL = (PB > S) ? PB - S : 0,
  parameter integer CW = (DL > 0) ? DL : 1
) (
  input  wire [47:0]         p,
  input  wire [K*CW-1:0]     c,
  output wire [K*(PB+1)-1:0] lanes
);
  localparam integer LW = PB + 1;
  localparam integer MR = (MODE == 2 || MODE == 3 || MODE == 4) ? 1 : 0;
  localparam integer RND = (MODE == 1 || MODE == 3) ? 1 : 0;
  // the test's mutants (test/fixtures/rtl/overpack_decode_mutant_*.v define these): the round
  // bit one place too low; lane K-2's MR correction dropped
`ifdef FKB_MUTANT_ROUND_LOW
  localparam integer ROUND_AT = 2;
`else
  localparam integer ROUND_AT = 1;
`endif
`ifdef FKB_MUTANT_NO_MR
  localparam integer NO_MR_LANE = K - 2;
`else
  localparam integer NO_MR_LANE = -1;
`endif
  // exact: the running sum L_k = sum_(i<k) r_i * 2^(i*S) of the lanes below, 64 bits signed
  wire [64*(K+1)-1:0] below /*verilator split_var*/;
  assign below[63:0] = 64'd0;
  genvar k;
  generate
    for (k = 0; k < K; k = k + 1) begin : lane
      localparam integer OFF = k * S;
      wire [PB-1:0] f = p[OFF +: PB];
      wire [63:0]   cx = (MR != 0 && DL > 0 && k != NO_MR_LANE) ? ({{(64 - CW){1'b0}}, c[k*CW +: CW]} << S) : 64'd0;
      wire [63:0]   lk = below[64*k +: 64];
      wire signed [63:0] lks = lk;
      wire [63:0]   lsh = lks >>> OFF;    // floor(L_k / 2^off_k)
      wire [63:0]   fk = (MODE == 4) ? lsh : 64'd0;
      wire [PB-1:0] fld = f - cx[PB-1:0] - fk[PB-1:0];
      wire          bk = (RND != 0 && k > 0) ? p[(OFF >= ROUND_AT ? OFF - ROUND_AT : 0)] : 1'b0;
      wire [LW-1:0] r = {fld[PB-1], fld} + {{(LW - 1){1'b0}}, bk};
      assign lanes[k*LW +: LW] = r;
      assign below[64*(k+1) +: 64] = lk + ({{(64 - LW){r[LW-1]}}, r} << OFF);
    end
  endgenerate
endmodule
`default_nettype wire
