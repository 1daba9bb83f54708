// cosim_tb: the co-simulation testbench of splitconv_pe, shared by Verilator and Icarus
// (harness/cosim writes a two-line top per simulator: Verilator's C++ main toggles `clk`,
// Icarus's top has `always #1 clk = ~clk`). No delays, no plusargs: the simulator runs in the
// directory holding the files below, which the driver (harness/cosim/engine-files.ts) writes.
//
//   cfg.hex   35 x 32-bit: the PE's cfg fields (splitconv_pe.v CFG_*)
//   tb.hex    [0] outputs to dump, [1] trace: 0 none, 1 last stage of every cascade, 2 every
//             stage, [2] cycle limit (a PE that never finishes ends the run with "timeout")
//   amem.hex  activation words: word (ih * inW + iw) * TC + ct holds channels ct*L .. ct*L+L-1
//             (raw int8 codes, the PE adds the scheme's offset)
//   wmem.hex  weight words in load order: word (ot * TILEWORDS + tap * TC + ct), PO*2*L bytes
//   bias.hex  bias' per output channel (32-bit)
// Writes:
//   result.txt  "cycles N", "stalls N" (or "timeout N")
//   out.hex     the accumulators written back, [oh][ow][oc], one 32-bit word a line
//   trace.txt   per cycle, every traced stage whose P holds an issue: "cycle p o stage P(hex)"
`default_nettype none
module cosim_tb #(
  parameter integer SCHEME = 1,
  parameter integer L = 4,
  parameter integer PO = 2,
  parameter integer PP = 2,
  parameter integer DSP_LATENCY = 4,
  parameter integer ACC_LATENCY = 1,
  parameter integer WORD_CYCLES = 1,
  parameter integer WBUF_DEPTH = 1024,
  parameter integer AMEM_DEPTH = 65536,
  parameter integer WMEM_DEPTH = 16384,
  parameter integer OMEM_DEPTH = 262144,
  parameter integer BIAS_DEPTH = 4096
) (
  input wire clk
);
  reg [31:0] cfg_m [0:34];
  reg [31:0] tbc [0:2];
  reg [L*8-1:0] amem [0:AMEM_DEPTH-1];
  reg [PO*2*L*8-1:0] wmem [0:WMEM_DEPTH-1];
  reg [31:0] bmem [0:BIAS_DEPTH-1];
  reg [31:0] omem [0:OMEM_DEPTH-1];
  initial begin
    $readmemh("cfg.hex", cfg_m);
    $readmemh("tb.hex", tbc);
    $readmemh("amem.hex", amem);
    $readmemh("wmem.hex", wmem);
    $readmemh("bias.hex", bmem);
  end

  wire [35*32-1:0] cfg;
  genvar g;
  generate
    for (g = 0; g < 35; g = g + 1) begin : cf
      assign cfg[g*32 +: 32] = cfg_m[g];
    end
  endgenerate

  reg rst = 1'b1;
  reg start = 1'b0;
  wire [PP*2*32-1:0] a_addr;
  wire [PP*2*L*8-1:0] a_data;
  wire [31:0] w_addr;
  wire [PO*2*L*8-1:0] w_data = wmem[w_addr[$clog2(WMEM_DEPTH)-1:0]];
  wire [PO*2*32-1:0] b_addr, b_data;
  wire [PP*PO*4-1:0] wb_we;
  wire [PP*PO*4*32-1:0] wb_addr, wb_data;
  wire busy, done;
  wire [31:0] cycle, cycles, stalls;
  wire [PP*PO*L*48-1:0] dbg_p;
  wire [PP*PO*L-1:0] dbg_v;
  generate
    for (g = 0; g < PP*2; g = g + 1) begin : ard
      assign a_data[g*L*8 +: L*8] = amem[a_addr[g*32 +: $clog2(AMEM_DEPTH)]];
    end
    for (g = 0; g < PO*2; g = g + 1) begin : brd
      assign b_data[g*32 +: 32] = bmem[b_addr[g*32 +: $clog2(BIAS_DEPTH)]];
    end
  endgenerate

  splitconv_pe #(
    .SCHEME(SCHEME), .L(L), .PO(PO), .PP(PP), .DSP_LATENCY(DSP_LATENCY), .ACC_LATENCY(ACC_LATENCY),
    .WORD_CYCLES(WORD_CYCLES), .WBUF_DEPTH(WBUF_DEPTH)
  ) dut (
    .clk(clk), .rst(rst), .start(start), .cfg(cfg), .a_addr(a_addr), .a_data(a_data), .w_addr(w_addr),
    .w_data(w_data), .b_addr(b_addr), .b_data(b_data), .wb_we(wb_we), .wb_addr(wb_addr), .wb_data(wb_data),
    .busy(busy), .done(done), .cycle(cycle), .cycles(cycles), .stall_cycles(stalls), .dbg_p(dbg_p), .dbg_v(dbg_v));

  integer clocks = 0;
  integer n, f, s;
  always @(posedge clk) begin
    clocks <= clocks + 1;
    if (clocks == 2) rst <= 1'b0;
    start <= (clocks == 3);
    for (n = 0; n < PP*PO*4; n = n + 1) begin
      if (wb_we[n]) omem[wb_addr[n*32 +: $clog2(OMEM_DEPTH)]] <= wb_data[n*32 +: 32];
    end
  end

  // trace: the P registers as they read in this cycle of the run
  integer tf = 0;
  initial if (tbc[1] != 0) tf = $fopen("trace.txt", "w");
  always @(posedge clk) begin
    if (tbc[1] != 0 && dut.state == 2'd2) begin
      for (n = 0; n < PP*PO*L; n = n + 1) begin
        if (dbg_v[n] && (tbc[1] == 2 || n % L == L - 1))
          $fdisplay(tf, "%0d %0d %0d %0d %012x", cycle, n / (PO*L), (n / L) % PO, n % L, dbg_p[n*48 +: 48]);
      end
    end
  end

  reg finished = 1'b0;
  always @(posedge clk) begin
    if (!finished && (done || clocks > tbc[2])) begin
      finished <= 1'b1;
      f = $fopen("result.txt", "w");
      if (done) $fdisplay(f, "cycles %0d\nstalls %0d", cycles, stalls);
      else $fdisplay(f, "timeout %0d", clocks);
      $fclose(f);
      // the last write-back lands at this edge: dump one cycle later
    end
    if (finished) begin
      f = $fopen("out.hex", "w");
      for (s = 0; s < tbc[0]; s = s + 1) $fdisplay(f, "%08x", omem[s]);
      $fclose(f);
      if (tf != 0) $fclose(tf);
      $finish;
    end
  end
endmodule
`default_nettype wire
