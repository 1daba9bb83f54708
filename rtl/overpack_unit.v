// overpack_unit: one overpacked multiply per cycle, decoded with its correction (harness/dsp/
// overpack.ts; Sommer et al., FPL 2022): overpack_pack -> dsp_stage (the engine's behavioural
// DSP48E2 slice with its pipeline registers, DSP_LATENCY cycles) -> overpack_decode -> output
// register. The MR correction inputs c_k are computed from the operands in the cycle they enter
// and delayed DSP_LATENCY cycles to meet their P (overpack_correction).
//
//   in_valid, w, a in cycle t  ->  out_valid, lanes in cycle t + DSP_LATENCY + 1
//
// MODE as overpack_decode (0 naive, 1 round, 2 mr, 3 mr-round, 4 exact, 5 approx); parameters
// as overpack_pack. lanes: K = N*M lanes of PB+1 = WB+AB+1 bits, lane k = j*M + i holds w_j*a_i.
`default_nettype none
module overpack_unit #(
  parameter integer WB = 4,
  parameter integer AB = 4,
  parameter integer N = 2,
  parameter integer M = 2,
  parameter integer S = 7,
  parameter integer ASIGNED = 0,
  parameter integer BCOMP = 0,
  parameter integer MODE = 0,
  parameter integer DSP_LATENCY = 4
) (
  input  wire                    clk,
  input  wire                    rst,
  input  wire                    in_valid,
  input  wire [N*WB-1:0]         w,
  input  wire [M*AB-1:0]         a,
  output reg                     out_valid,
  output reg  [N*M*(WB+AB+1)-1:0] lanes,
  output reg  [47:0]             p_out     // the DSP's P the lanes were decoded from (for diagnosis)
);
  localparam integer K = N * M;
  localparam integer PB = WB + AB;

  wire [29:0] pa;
  wire [17:0] pb;
  wire [47:0] pc;
  wire [26:0] pd;
  wire [4:0]  inmode;
  wire [8:0]  opmode;
  overpack_pack #(.WB(WB), .AB(AB), .N(N), .M(M), .S(S), .ASIGNED(ASIGNED), .BCOMP(BCOMP), .APPROX(MODE == 5 ? 1 : 0)) u_pack (
    .w(w), .a(a), .A(pa), .B(pb), .C(pc), .D(pd), .INMODE(inmode), .OPMODE(opmode));

  wire [47:0] p;
  wire        p_valid;
  dsp_stage #(.DSP_LATENCY(DSP_LATENCY)) u_dsp (
    .clk(clk), .rst(rst), .valid(in_valid), .a(pa), .b(pb), .c(pc), .d(pd), .inmode(inmode), .opmode(opmode),
    .pcin(48'd0), .p(p), .p_valid(p_valid));

  wire [K*(PB+1)-1:0] r;
  overpack_correction #(.WB(WB), .AB(AB), .N(N), .M(M), .S(S), .ASIGNED(ASIGNED), .MODE(MODE), .LATENCY(DSP_LATENCY)) u_corr (
    .clk(clk), .rst(rst), .w(w), .a(a), .p(p), .lanes(r));

  always @(posedge clk) begin
    out_valid <= rst ? 1'b0 : p_valid;
    if (p_valid) begin
      lanes <= r;
      p_out <= p;
    end
  end
endmodule
`default_nettype wire
