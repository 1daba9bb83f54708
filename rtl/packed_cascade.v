// packed_cascade: L DSP48E2 slices PCOUT -> PCIN computing one packed dot product per issue.
//
//   issue (all L stages' operands, cycle t)
//     stage j: j skew registers -> pack_<scheme> -> dsp_stage (DSP_LATENCY) -> P_j --PCIN--> stage j+1
//   stage 0: P = M (+C);  stage j > 0: P = PCIN + M (+C);  P_{L-1} readable in cycle t + L-1 + DSP_LATENCY
//   decode_<scheme> splits P_{L-1} into lanes (combinational).
//
// SCHEME: 0 unpacked, 1 int8x8, 2 int8xu8, 3 wp487u8, 4 int4 (the order of rtl/CONTRACT.md).
// Operand buses: stage j's weight k at w[(2*j+k)*8 +: 8], activation k at a[(2*j+k)*8 +: 8]
// (codes as the DSP sees them; fields a scheme does not use are ignored).
`default_nettype none
module packed_cascade #(
  parameter integer SCHEME = 1,
  parameter integer L = 4,
  parameter integer DSP_LATENCY = 4
) (
  input  wire              clk,
  input  wire              rst,
  input  wire              in_valid,
  input  wire [L*16-1:0]   w,
  input  wire [L*16-1:0]   a,
  output wire              out_valid,   // P of the last stage holds an issue's sum in this cycle
  output wire [47:0]       p_out,
  output wire [191:0]      lanes,       // decoded lanes, 4 x 48-bit signed, least significant first
  output wire [L*48-1:0]   stage_p,     // every stage's P (trace)
  output wire [L-1:0]      stage_valid
);
  wire [47:0] p [0:L];
  assign p[0] = 48'd0;   // stage 0's PCIN (unused: Z = 0)

  genvar j;
  generate
    for (j = 0; j < L; j = j + 1) begin : stage
      wire        v;
      wire [31:0] ops;
      fkb_delay #(.W(33), .N(j)) u_skew (
        .clk(clk), .rst(rst), .d({in_valid, w[j*16 +: 16], a[j*16 +: 16]}), .q({v, ops}));
      wire [7:0] w0 = ops[23:16];
      wire [7:0] w1 = ops[31:24];
      wire [7:0] a0 = ops[7:0];
      wire [7:0] a1 = ops[15:8];
      wire [29:0] pa;
      wire [17:0] pb;
      wire [47:0] pc;
      wire [26:0] pd;
      wire [4:0]  pi;
      wire [8:0]  po;
      if (SCHEME == 0) begin : pk
        pack_unpacked u (.w0(w0), .w1(w1), .a0(a0), .a1(a1), .first(j == 0), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(pi), .OPMODE(po));
      end else if (SCHEME == 1) begin : pk
        pack_int8x8 u (.w0(w0), .w1(w1), .a0(a0), .a1(a1), .first(j == 0), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(pi), .OPMODE(po));
      end else if (SCHEME == 2) begin : pk
        pack_int8xu8 u (.w0(w0), .w1(w1), .a0(a0), .a1(a1), .first(j == 0), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(pi), .OPMODE(po));
      end else if (SCHEME == 3) begin : pk
        pack_wp487u8 u (.w0(w0), .w1(w1), .a0(a0), .a1(a1), .first(j == 0), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(pi), .OPMODE(po));
      end else begin : pk
        pack_int4 u (.w0(w0), .w1(w1), .a0(a0), .a1(a1), .first(j == 0), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(pi), .OPMODE(po));
      end
      dsp_stage #(.DSP_LATENCY(DSP_LATENCY)) u_dsp (
        .clk(clk), .rst(rst), .valid(v), .a(pa), .b(pb), .c(pc), .d(pd), .inmode(pi), .opmode(po),
        .pcin(p[j]), .p(p[j+1]), .p_valid(stage_valid[j]));
      assign stage_p[j*48 +: 48] = p[j+1];
    end

    if (SCHEME == 0) begin : dec
      decode_unpacked u (.p(p[L]), .lanes(lanes));
    end else if (SCHEME == 1) begin : dec
      decode_int8x8 u (.p(p[L]), .lanes(lanes));
    end else if (SCHEME == 2) begin : dec
      decode_int8xu8 u (.p(p[L]), .lanes(lanes));
    end else if (SCHEME == 3) begin : dec
      decode_wp487u8 u (.p(p[L]), .lanes(lanes));
    end else begin : dec
      decode_int4 u (.p(p[L]), .lanes(lanes));
    end
  endgenerate

  assign p_out = p[L];
  assign out_valid = stage_valid[L-1];
endmodule
`default_nettype wire
