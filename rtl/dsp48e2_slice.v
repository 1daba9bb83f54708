// dsp48e2_slice: the subset of the Xilinx DSP48E2 slice that fpga-kernel-bench's engine uses,
// written from UG579 (UltraScale DSP48E2 user guide) and /work/shared/golden/dsp48e2/README.md.
// It is the same subset as the TypeScript model harness/dsp/slice.ts, plus the pipeline registers.
//
//   A[26:0] --+                                                                 W in {0,P,RND,C}
//             +-- pre-adder AD = D +/- A (27 bits, wraps) -- x B (27x18 signed) -- M --+ X+Y  |
//   D --------+                                                                        |     |
//   Z in {0, PCIN, P, C, PCIN>>>17, P>>>17} -------------------------------------------+-- ALU -- P
//
// Fixed attributes (as the golden vectors): AMULTSEL="AD", BMULTSEL="B", PREADDINSEL="A",
// USE_MULT="MULTIPLY", USE_SIMD="ONE48", CARRYINSEL=000, A_INPUT=B_INPUT="DIRECT".
// Supported: INMODE[3:1] (zero A, use D, D-A); INMODE[0] and INMODE[4] (A1/B1 selection) must
// be 0. OPMODE X/Y = 00 or 0101 (M); W = 00..11; Z = 000, 001, 010, 011, 101, 110.
// ALUMODE 0000..0011 (UG579 Table 2-7). Anything else computes as if X=Y=0 / ALUMODE=0000:
// the harness never drives it (the TS model refuses it).
// Not modelled: CARRYOUT, pattern detect, SIMD, A:B on X, cascaded A/B (ACIN/BCIN), per-register
// CE/RST pairs: `ce` enables every input/M register, `cep` the P register, `rst` clears all
// (synchronous, priority over CE, as UG579).
//
// Registers (UG579 attribute of the same name; 0 = combinational):
//   AREG, BREG: 0, 1, 2;  CREG, DREG, ADREG, MREG, PREG, INMODEREG, OPMODEREG, ALUMODEREG,
//   CARRYINREG: 0 or 1. A port's value is used by the stage behind its own registers, exactly as
//   in the silicon: e.g. with AREG=DREG=ADREG=MREG=PREG=1, BREG=2, INMODEREG=1, OPMODEREG=1
//   (engine latency 4), A, D, B, INMODE presented in cycle t and OPMODE, C in cycle t+2 give P
//   readable in cycle t+4 (golden file pipe_packedmac: B one cycle later because BREG=1 there).
//
// `define FKB_USE_PRIMITIVE instantiates the vendor's DSP48E2 primitive with the same attributes
// instead (USE_PRIMITIVE=0 keeps this model even then). The synthesis flow (harness/synth) sets
// it, so Yosys counts one DSP48E2 per slice; to simulate it, point your simulator at your unisim
// library (e.g. iverilog -y $XILINX_VIVADO/data/verilog/src/unisims) and add glbl.v.
`default_nettype none
module dsp48e2_slice #(
  parameter integer AREG = 0,
  parameter integer BREG = 0,
  parameter integer CREG = 0,
  parameter integer DREG = 0,
  parameter integer ADREG = 0,
  parameter integer MREG = 0,
  parameter integer PREG = 1,
  parameter integer INMODEREG = 0,
  parameter integer OPMODEREG = 0,
  parameter integer ALUMODEREG = 0,
  parameter integer CARRYINREG = 0,
  parameter [47:0] RND = 48'h0,
  parameter integer USE_PRIMITIVE = 1
) (
  input  wire        clk,
  input  wire        rst,
  input  wire        ce,
  input  wire        cep,
  input  wire [29:0] a,
  input  wire [17:0] b,
  input  wire [47:0] c,
  input  wire [26:0] d,
  input  wire [4:0]  inmode,
  input  wire [8:0]  opmode,
  input  wire [3:0]  alumode,
  input  wire        carryin,
  input  wire [47:0] pcin,
  output wire [47:0] p,
  output wire [47:0] pcout
);
`ifdef FKB_USE_PRIMITIVE
  if (USE_PRIMITIVE != 0) begin : prim
    DSP48E2 #(
      .AMULTSEL("AD"), .BMULTSEL("B"), .PREADDINSEL("A"), .USE_MULT("MULTIPLY"), .USE_SIMD("ONE48"),
      .A_INPUT("DIRECT"), .B_INPUT("DIRECT"), .RND(RND),
      .AREG(AREG), .ACASCREG(AREG), .BREG(BREG), .BCASCREG(BREG), .CREG(CREG), .DREG(DREG), .ADREG(ADREG),
      .MREG(MREG), .PREG(PREG), .INMODEREG(INMODEREG), .OPMODEREG(OPMODEREG), .ALUMODEREG(ALUMODEREG),
      .CARRYINREG(CARRYINREG), .CARRYINSELREG(0)
    ) u_dsp (
      .CLK(clk), .A(a), .B(b), .C(c), .D(d), .INMODE(inmode), .OPMODE(opmode), .ALUMODE(alumode),
      .CARRYIN(carryin), .CARRYINSEL(3'b000), .PCIN(pcin), .PCOUT(pcout), .P(p),
      .ACIN(30'd0), .BCIN(18'd0), .CARRYCASCIN(1'b0), .MULTSIGNIN(1'b0),
      .CEA1(ce), .CEA2(ce), .CEB1(ce), .CEB2(ce), .CEC(ce), .CED(ce), .CEAD(ce), .CEM(ce), .CEP(cep),
      .CEINMODE(ce), .CECTRL(ce), .CEALUMODE(ce), .CECARRYIN(ce),
      .RSTA(rst), .RSTB(rst), .RSTC(rst), .RSTD(rst), .RSTM(rst), .RSTP(rst), .RSTINMODE(rst),
      .RSTCTRL(rst), .RSTALUMODE(rst), .RSTALLCARRYIN(rst),
      .ACOUT(), .BCOUT(), .CARRYCASCOUT(), .MULTSIGNOUT(), .OVERFLOW(), .UNDERFLOW(),
      .PATTERNDETECT(), .PATTERNBDETECT(), .CARRYOUT(), .XOROUT()
    );
  end else begin : model
`endif
  // ---- input registers -------------------------------------------------------------------
  reg [29:0] a1_r, a2_r;
  reg [17:0] b1_r, b2_r;
  reg [47:0] c_r;
  reg [26:0] d_r, ad_r;
  reg [4:0]  inmode_r;
  reg [8:0]  opmode_r;
  reg [3:0]  alumode_r;
  reg        carryin_r;
  reg [47:0] m_r, p_r;

  always @(posedge clk) begin
    if (rst) begin
      a1_r <= 30'd0; a2_r <= 30'd0; b1_r <= 18'd0; b2_r <= 18'd0; c_r <= 48'd0; d_r <= 27'd0;
      inmode_r <= 5'd0; opmode_r <= 9'd0; alumode_r <= 4'd0; carryin_r <= 1'b0;
    end else if (ce) begin
      a1_r <= a; a2_r <= (AREG == 2) ? a1_r : a;
      b1_r <= b; b2_r <= (BREG == 2) ? b1_r : b;
      c_r <= c; d_r <= d; inmode_r <= inmode; opmode_r <= opmode; alumode_r <= alumode; carryin_r <= carryin;
    end
  end

  wire [29:0] a_q = (AREG == 0) ? a : a2_r;
  wire [17:0] b_q = (BREG == 0) ? b : b2_r;
  wire [47:0] c_q = (CREG == 0) ? c : c_r;
  wire [26:0] d_q = (DREG == 0) ? d : d_r;
  wire [4:0]  inmode_q = (INMODEREG == 0) ? inmode : inmode_r;
  wire [8:0]  opmode_q = (OPMODEREG == 0) ? opmode : opmode_r;
  wire [3:0]  alumode_q = (ALUMODEREG == 0) ? alumode : alumode_r;
  wire        carryin_q = (CARRYINREG == 0) ? carryin : carryin_r;

  // ---- pre-adder (UG579 INMODE functions), 27 bits, wraps ---------------------------------
  wire [26:0] pre_a = inmode_q[1] ? 27'd0 : a_q[26:0];
  wire [26:0] pre_d = inmode_q[2] ? d_q : 27'd0;
  wire [26:0] ad = inmode_q[3] ? (pre_d - pre_a) : (pre_d + pre_a);
  always @(posedge clk) begin
    if (rst) ad_r <= 27'd0;
    else if (ce) ad_r <= ad;
  end
  wire [26:0] ad_q = (ADREG == 0) ? ad : ad_r;

  // ---- 27 x 18 signed multiplier, 45-bit product sign-extended to 48 ----------------------
  wire signed [44:0] prod = $signed(ad_q) * $signed(b_q);
  wire [47:0] m = {{3{prod[44]}}, prod};
  always @(posedge clk) begin
    if (rst) m_r <= 48'd0;
    else if (ce) m_r <= m;
  end
  wire [47:0] m_q = (MREG == 0) ? m : m_r;

  // ---- W, X+Y, Z multiplexers (UG579 Tables 2-3 .. 2-6) and the ALU (Table 2-7) ------------
  reg [47:0] w_mux, xy_mux, z_mux, alu;
  wire [47:0] p_prev = p_r;
  always @(*) begin
    case (opmode_q[8:7])
      2'b00: w_mux = 48'd0;
      2'b01: w_mux = p_prev;
      2'b10: w_mux = RND;
      default: w_mux = c_q;
    endcase
    xy_mux = (opmode_q[3:0] == 4'b0101) ? m_q : 48'd0;
    case (opmode_q[6:4])
      3'b001: z_mux = pcin;
      3'b010: z_mux = p_prev;
      3'b011: z_mux = c_q;
      3'b101: z_mux = {{17{pcin[47]}}, pcin[47:17]};
      3'b110: z_mux = {{17{p_prev[47]}}, p_prev[47:17]};
      default: z_mux = 48'd0;
    endcase
    case (alumode_q[1:0])
      2'b00: alu = z_mux + (w_mux + xy_mux + {47'd0, carryin_q});
      2'b01: alu = ~z_mux + (w_mux + xy_mux + {47'd0, carryin_q});
      2'b10: alu = ~(z_mux + (w_mux + xy_mux + {47'd0, carryin_q}));
      default: alu = z_mux - (w_mux + xy_mux + {47'd0, carryin_q});
    endcase
  end

  always @(posedge clk) begin
    if (rst) p_r <= 48'd0;
    else if (cep) p_r <= alu;
  end
  assign p = (PREG == 0) ? alu : p_r;
  assign pcout = p;
`ifdef FKB_USE_PRIMITIVE
  end
`endif
endmodule
`default_nettype wire
