// overpack_corr: the MR correction inputs of one overpacked multiply, in the fabric (Sommer et
// al., FPL 2022, §V MR-Overpacking; harness/dsp/overpack.ts mrCorrections). Lane k's field
// [k*S + PB - 1 : k*S] carries, on its top DL = PB - S bits, the low DL bits of lane k+1's
// product; they are computed from the operands' low DL bits alone:
//
//   c_k = ((w_j mod 2^DL) * (a_i mod 2^DL)) mod 2^DL,  lane k+1 = (j, i);  c_(K-1) = 0
//
// (DL = 1: one AND; DL = 2: two ANDs and an XOR per lane). DL = 0 (no overlap): all zero.
// Output c_k at [k*CW +: CW], CW = max(DL, 1).
`default_nettype none
module overpack_corr #(
  parameter integer WB = 4,
  parameter integer AB = 4,
  parameter integer N = 2,
  parameter integer M = 2,
  parameter integer ASIGNED = 0,
  parameter integer DL = 1,
  parameter integer CW = (DL > 0) ? DL : 1
) (
  input  wire [N*WB-1:0]    w,
  input  wire [M*AB-1:0]    a,
  output wire [N*M*CW-1:0]  c
);
  localparam integer K = N * M;
  genvar k;
  generate
    for (k = 0; k < K; k = k + 1) begin : lane
      if (DL == 0 || k + 1 >= K) begin : none
        assign c[k*CW +: CW] = {CW{1'b0}};
      end else begin : mr
        localparam integer J = (k + 1) / M;
        localparam integer I = (k + 1) % M;
        // the operands' low DL bits (sign- or zero-extended first when DL exceeds their width)
        wire [31:0] wx = {{(32 - WB){w[J*WB + WB - 1]}}, w[J*WB +: WB]};
        wire        asx = (ASIGNED != 0) && a[I*AB + AB - 1];
        wire [31:0] ax = {{(32 - AB){asx}}, a[I*AB +: AB]};
        wire [DL-1:0] wl = wx[DL-1:0];
        wire [DL-1:0] al = ax[DL-1:0];
        wire [2*DL-1:0] prod = wl * al;
        assign c[k*CW +: CW] = prod[DL-1:0];
      end
    end
  endgenerate
endmodule
`default_nettype wire
