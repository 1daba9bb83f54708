// overpack_pack: the DSP48E2 ports of one overpacked multiply (harness/dsp/overpack.ts, header
// "Layout"; Sommer et al., FPL 2022, arXiv:2203.11028, §III/§V). N weights x M activations,
// lane k = j*M + i at bit k*S of P, lane spacing S may be below the product width WB + AB.
//
//   A[29:0] = sext(w_0)
//   D[26:0] = sext(w_1) << (M*S)              (N = 2; INMODE 00100: AD = D + A)
//   B[17:0] = sum_i a_i << (i*S)              (a_i sign- or zero-extended as ASIGNED says)
//   C[47:0] = BCOMP && B[17] ? (w_0 + w_1 * 2^(M*S)) << 18 : 0      (the multiplier reads B - 2^18)
//           + APPROX ? sum_(k>=1) [w of lane k-1 < 0] << (k*S) : 0  (paper's approximate correction)
//   OPMODE  = P = M + C (W = C) when C can be non-zero, else P = M
//
// Operands: w = {w_(N-1), .., w_0}, WB bits each, two's complement; a = {a_(M-1), .., a_0}, AB
// bits each. BCOMP is overpackLayout's bSignCompensation (unsigned activations whose pattern
// reaches B[17]); the layout's checks (ports wide enough, no pre-adder overflow) are the caller's.
`default_nettype none
module overpack_pack #(
  parameter integer WB = 4,
  parameter integer AB = 4,
  parameter integer N = 2,
  parameter integer M = 2,
  parameter integer S = 7,
  parameter integer ASIGNED = 0,
  parameter integer BCOMP = 0,
  parameter integer APPROX = 0
) (
  input  wire [N*WB-1:0] w,
  input  wire [M*AB-1:0] a,
  output wire [29:0]     A,
  output wire [17:0]     B,
  output wire [47:0]     C,
  output wire [26:0]     D,
  output wire [4:0]      INMODE,
  output wire [8:0]      OPMODE
);
  localparam integer K = N * M;

  // weights and activations extended to 48 bits
  wire [47:0] w0 = {{(48 - WB){w[WB-1]}}, w[WB-1:0]};
  wire [47:0] w1;
  generate
    if (N == 2) begin : two
      assign w1 = {{(48 - WB){w[2*WB-1]}}, w[2*WB-1:WB]};
    end else begin : one
      assign w1 = 48'd0;
    end
  endgenerate

  reg [47:0] bsum;
  integer i;
  always @(*) begin
    bsum = 48'd0;
    for (i = 0; i < M; i = i + 1) begin
      if (ASIGNED != 0) bsum = bsum + ({{(48 - AB){a[i*AB + AB - 1]}}, a[i*AB +: AB]} << (i * S));
      else bsum = bsum + ({{(48 - AB){1'b0}}, a[i*AB +: AB]} << (i * S));
    end
  end

  wire [47:0] ad = w0 + (w1 << (M * S));
  wire [47:0] comp = (BCOMP != 0 && bsum[17]) ? (ad << 18) : 48'd0;

  reg [47:0] anticipate;
  integer k;
  always @(*) begin
    anticipate = 48'd0;
    if (APPROX != 0)
      for (k = 1; k < K; k = k + 1)
        if (((k - 1) / M == 0) ? w0[47] : w1[47]) anticipate = anticipate + (48'd1 << (k * S));
  end

  assign A = w0[29:0];
  wire [47:0] dsh = w1 << (M * S);
  assign D = dsh[26:0];
  assign B = bsum[17:0];
  assign C = comp + anticipate;
  assign INMODE = (N == 2) ? 5'b00100 : 5'b00000;
  assign OPMODE = (BCOMP != 0 || APPROX != 0) ? 9'h185 : 9'h005;
endmodule
`default_nettype wire
