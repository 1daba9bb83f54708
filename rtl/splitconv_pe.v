// splitconv_pe: engine (a) of harness/fpga/models/splitconv.ts streaming one layer, cycle for
// cycle the hardware that harness/fpga/sim/splitconv-clock.ts (simulateSplitConv) simulates:
//
//   controller ──issue──┬─ packed_cascade (L DSPs, skew, DSP_LATENCY) ─ decode ─┐  PO cascades
//   (output tile,       │   ...                                                 │  x PP pixel lanes
//    pixel tile, tap,   └─ packed_cascade ─ decode ─────────────────────────────┤
//    channel tile)                                                              │
//        ▲ weight word                                 ACC_LATENCY registers ───┘
//   ping-pong weight buffer ◄─ loader ◄─ w_addr/w_data         accumulation unit (int32, one per
//        (2 x WBUF_DEPTH words)          (off-chip words)      pixel lane x output lane) ─ + bias' ─ wb_*
//
// - Loop nest, outermost first: output tile ot < TO, pixel tile pt < TP, tap (kh, kw), channel
//   tile ct < TC; one issue per cycle to every cascade of every pixel lane.
// - Cascade o of pixel lane p, stage j, issue (ot, pt, tap, ct): input channel ct*L + j, output
//   channels (ot*PO + o)*NW + k, pixel slot pt*PP + p = output row oh, pixels ows*NA + k.
//   Activations: the input code + the scheme's offset; a padded tap reads ZPCODE; channels past
//   INC, slots past SLOTS and pixels past OUTW read 0. Weights come from the active half of the
//   ping-pong buffer (word = tap * TC + ct: PO*NW*L weights, zero past the layer, as loaded).
// - Weight loader: tile 0's TILEWORDS words are copied before cycle 0 (PRELOAD, not counted). At
//   the first issue of tile k the halves swap and tile k+1 loads into the free half, one word
//   every WORD_CYCLES cycles; the first issue of tile k+1 stalls until its half is complete.
// - The last stage's P is decoded (decode_<scheme>) and, ACC_LATENCY cycles later, loaded into
//   (first tap and channel tile) or added to (otherwise) the int32 accumulator of its (pixel
//   lane, output lane); after the last tap and channel tile the accumulator + bias' (b_data) is
//   written out on wb_* (one write port per pixel lane x cascade x lane, address
//   (oh * OUTW + ow) * OUTC + oc).
// - cycles: cycle 0 is the first issue; `cycles` = 1 + the cycle in which the last issue's
//   partial sum reaches the accumulator (model (a)'s computeCycles convention).
//
// The layer is programmed through `cfg` (32-bit fields, host-computed loop bounds, like CSRs an
// embedded CPU writes): see the CFG_* indices below. Memories are outside (ports with a
// combinational read): the co-simulation testbench rtl/tb/cosim_tb.v holds them, initialised
// by $readmemh from files the driver (harness/cosim) writes.
// SCHEME: 0 unpacked, 1 int8x8, 2 int8xu8, 3 wp487u8, 4 int4.
`default_nettype none
module splitconv_pe #(
  parameter integer SCHEME = 1,
  parameter integer L = 4,
  parameter integer PO = 2,
  parameter integer PP = 2,
  parameter integer DSP_LATENCY = 4,
  parameter integer ACC_LATENCY = 1,
  parameter integer WORD_CYCLES = 1,
  parameter integer WBUF_DEPTH = 64
) (
  input  wire clk,
  input  wire rst,
  input  wire start,
  input  wire [20*32-1:0] cfg,
  // activation memory: PP*NA read ports, words of L int8 codes (channel j at [8*j +: 8])
  output wire [PP*2*32-1:0] a_addr,
  input  wire [PP*2*L*8-1:0] a_data,
  // off-chip weight words: weight (o*NW + k)*L + j at [8*((o*NW + k)*L + j) +: 8]
  output wire [31:0] w_addr,
  input  wire [PO*2*L*8-1:0] w_data,
  // bias' per output channel: PO*NW read ports
  output wire [PO*2*32-1:0] b_addr,
  input  wire [PO*2*32-1:0] b_data,
  // write-back: port (p*PO + o)*4 + lane
  output wire [PP*PO*4-1:0] wb_we,
  output wire [PP*PO*4*32-1:0] wb_addr,
  output wire [PP*PO*4*32-1:0] wb_data,
  output wire busy,
  output wire done,
  output wire [31:0] cycle,        // the current cycle (0 = first issue)
  output wire [31:0] cycles,       // valid with done
  output wire [31:0] stall_cycles,
  // trace: every stage's P and whether it holds an issue's result in this cycle
  output wire [PP*PO*L*48-1:0] dbg_p,
  output wire [PP*PO*L-1:0] dbg_v
);
  localparam integer NW = (SCHEME == 1 || SCHEME == 2 || SCHEME == 4) ? 2 : 1;
  localparam integer NA = (SCHEME == 3 || SCHEME == 4) ? 2 : 1;
  localparam integer NL = NW * NA;
  localparam [7:0] OFFSET = (SCHEME == 2 || SCHEME == 3) ? 8'd128 : (SCHEME == 4 ? 8'd8 : 8'd0);
  localparam integer NWORD = PO * NW * L;
  localparam integer META_N = L - 1 + DSP_LATENCY;   // issue -> last P readable

  localparam integer CFG_TO = 0, CFG_TP = 1, CFG_KH = 2, CFG_KW = 3, CFG_TC = 4, CFG_INC = 5, CFG_SLOTS = 6,
    CFG_SPR = 7, CFG_OUTW = 8, CFG_INH = 9, CFG_INW = 10, CFG_SH = 11, CFG_SW = 12, CFG_PADT = 13,
    CFG_PADL = 14, CFG_ZPCODE = 15, CFG_PPQ = 16, CFG_PPR = 17, CFG_OUTC = 18, CFG_TILEWORDS = 19;
  wire [31:0] TO = cfg[CFG_TO*32 +: 32], TP = cfg[CFG_TP*32 +: 32], KH = cfg[CFG_KH*32 +: 32];
  wire [31:0] KW = cfg[CFG_KW*32 +: 32], TC = cfg[CFG_TC*32 +: 32], INC = cfg[CFG_INC*32 +: 32];
  wire [31:0] SLOTS = cfg[CFG_SLOTS*32 +: 32], SPR = cfg[CFG_SPR*32 +: 32], OUTW = cfg[CFG_OUTW*32 +: 32];
  wire signed [31:0] INH = cfg[CFG_INH*32 +: 32], INW = cfg[CFG_INW*32 +: 32];
  wire [31:0] SH = cfg[CFG_SH*32 +: 32], SW = cfg[CFG_SW*32 +: 32];
  wire [31:0] PADT = cfg[CFG_PADT*32 +: 32], PADL = cfg[CFG_PADL*32 +: 32];
  wire [7:0]  ZPCODE = cfg[CFG_ZPCODE*32 +: 8];
  wire [31:0] PPQ = cfg[CFG_PPQ*32 +: 32], PPR = cfg[CFG_PPR*32 +: 32], OUTC = cfg[CFG_OUTC*32 +: 32];
  wire [31:0] TILEWORDS = cfg[CFG_TILEWORDS*32 +: 32];

  // lane li of P -> (weight k, activation k) (harness/dsp/schemes.ts `lanes`)
  function integer lane_w(input integer li);
    lane_w = (SCHEME == 1 || SCHEME == 2) ? (li == 0 ? 1 : 0) : (SCHEME == 4 ? li / 2 : 0);
  endfunction
  function integer lane_a(input integer li);
    lane_a = (SCHEME == 3) ? (li == 0 ? 1 : 0) : (SCHEME == 4 ? li % 2 : 0);
  endfunction

  // ---- state --------------------------------------------------------------------------------
  localparam [1:0] S_IDLE = 2'd0, S_PRELOAD = 2'd1, S_RUN = 2'd2, S_DONE = 2'd3;
  reg [1:0]  state;
  reg [31:0] cyc, cycles_r, stalls, pre_k;
  reg [31:0] ot, pt, kh, kw, ct, kidx, slot_base;
  reg        all_issued;
  reg [31:0] lane_oh [0:PP-1];
  reg [31:0] lane_ows [0:PP-1];
  // loader
  reg        active_half, loading_valid;
  reg [31:0] loading_tile, loaded, timer;
  reg [NWORD*8-1:0] wbuf [0:2*WBUF_DEPTH-1];

  assign busy = (state == S_PRELOAD) || (state == S_RUN);
  assign done = (state == S_DONE);
  assign cycle = cyc;
  assign cycles = cycles_r;
  assign stall_cycles = stalls;

  // ---- controller: this cycle's issue -----------------------------------------------------
  wire tap_first = (kh == 0) && (kw == 0) && (ct == 0);
  wire tap_last = (kh == KH - 1) && (kw == KW - 1) && (ct == TC - 1);
  wire new_tile = (pt == 0) && tap_first;
  wire ready = (ot == 0) || (loading_valid && loading_tile == ot && loaded == TILEWORDS);
  wire issue = (state == S_RUN) && !all_issued && (!new_tile || ready);
  wire stall = (state == S_RUN) && !all_issued && !issue;
  wire start_tile = issue && new_tile;
  wire final_issue = (ot == TO - 1) && (pt == TP - 1) && tap_last;

  // loader state after this cycle's tile start (weightsBuf.start), before its tick
  wire        half_e = (start_tile && ot != 0) ? ~active_half : active_half;
  wire        lv_e = start_tile ? (ot + 1 < TO) : loading_valid;
  wire [31:0] lt_e = start_tile ? ot + 1 : loading_tile;
  wire [31:0] ld_e = start_tile ? 32'd0 : loaded;
  wire [31:0] tm_e = start_tile ? 32'd0 : timer;
  wire        load_tick = (state == S_RUN) && lv_e && (ld_e < TILEWORDS);
  wire        load_word = load_tick && (tm_e + 1 >= WORD_CYCLES);
  assign w_addr = (state == S_PRELOAD) ? pre_k : lt_e * TILEWORDS + ld_e;

  wire [NWORD*8-1:0] word = wbuf[(half_e ? WBUF_DEPTH : 0) + kidx];

  // lane positions at pixel tile 0: lane p is slot p = (p / SPR, p % SPR)
  /* verilator lint_off UNOPTFLAT */
  wire [31:0] init_oh [0:PP-1];
  wire [31:0] init_ows [0:PP-1];
  /* verilator lint_on UNOPTFLAT */
  genvar p, o, k, j, li;
  generate
    for (p = 0; p < PP; p = p + 1) begin : init
      if (p == 0) begin : z
        assign init_oh[p] = 32'd0;
        assign init_ows[p] = 32'd0;
      end else begin : n
        assign init_oh[p] = (init_ows[p-1] + 1 == SPR) ? init_oh[p-1] + 1 : init_oh[p-1];
        assign init_ows[p] = (init_ows[p-1] + 1 == SPR) ? 32'd0 : init_ows[p-1] + 1;
      end
    end
  endgenerate

  // ---- operands: activations per pixel lane, weights per cascade ---------------------------
  wire [PP*L*16-1:0] act_bus;    // lane p: the cascade's `a` bus
  generate
    for (p = 0; p < PP; p = p + 1) begin : lane
      wire slot_ok = (slot_base + p) < SLOTS;
      for (k = 0; k < 2; k = k + 1) begin : act
        wire [31:0] ow = lane_ows[p] * NA + k;
        wire signed [31:0] ih = $signed(lane_oh[p] * SH + kh) - $signed(PADT);
        wire signed [31:0] iw = $signed(ow * SW + kw) - $signed(PADL);
        wire in_map = (ih >= 0) && (ih < INH) && (iw >= 0) && (iw < INW);
        wire used = (k < NA) && slot_ok && (ow < OUTW);
        assign a_addr[(p*2 + k)*32 +: 32] = (used && in_map) ? (ih * INW + iw) * TC + ct : 32'd0;
        wire [L*8-1:0] data = a_data[(p*2 + k)*L*8 +: L*8];
        for (j = 0; j < L; j = j + 1) begin : ch
          wire live = used && (ct * L + j < INC);
          assign act_bus[p*L*16 + j*16 + k*8 +: 8] = !live ? 8'd0 : in_map ? data[j*8 +: 8] + OFFSET : ZPCODE;
        end
      end
    end
    for (o = 0; o < PO; o = o + 1) begin : wsel
      wire [L*16-1:0] wb;
      for (j = 0; j < L; j = j + 1) begin : st
        for (k = 0; k < 2; k = k + 1) begin : wk
          if (k < NW) begin : u
            assign wb[j*16 + k*8 +: 8] = word[((o*NW + k)*L + j)*8 +: 8];
          end else begin : z
            assign wb[j*16 + k*8 +: 8] = 8'd0;
          end
        end
      end
    end
  endgenerate

  // ---- issue metadata: travels beside the operands to the accumulation unit ----------------
  localparam integer MW = 4 + 32 + 32 + PP * 64;
  wire [PP*64-1:0] pos_now;
  generate
    for (p = 0; p < PP; p = p + 1) begin : pos
      assign pos_now[p*64 +: 64] = {lane_oh[p], lane_ows[p]};
    end
  endgenerate
  wire [MW-1:0] meta_in = {issue, tap_first, tap_last, final_issue, ot, slot_base, pos_now};
  wire [MW-1:0] meta_p;    // in the cycle the last stage's P holds this issue
  fkb_delay #(.W(MW), .N(META_N)) u_meta (.clk(clk), .rst(rst), .d(meta_in), .q(meta_p));

  // ---- cascades, decode, ACC_LATENCY, accumulation -------------------------------------------
  wire [PP*PO*NL*32-1:0] lanes_p;
  generate
    for (p = 0; p < PP; p = p + 1) begin : px
      for (o = 0; o < PO; o = o + 1) begin : oc
        wire [191:0] lanes;
        packed_cascade #(.SCHEME(SCHEME), .L(L), .DSP_LATENCY(DSP_LATENCY)) u_casc (
          .clk(clk), .rst(rst), .in_valid(issue), .w(wsel[o].wb), .a(act_bus[p*L*16 +: L*16]),
          .out_valid(), .p_out(), .lanes(lanes),
          .stage_p(dbg_p[(p*PO + o)*L*48 +: L*48]), .stage_valid(dbg_v[(p*PO + o)*L +: L]));
        for (li = 0; li < NL; li = li + 1) begin : ln
          assign lanes_p[((p*PO + o)*NL + li)*32 +: 32] = lanes[li*48 +: 32];
        end
      end
    end
  endgenerate

  wire [MW-1:0] meta_a;
  wire [PP*PO*NL*32-1:0] lanes_a;
  fkb_delay #(.W(MW + PP*PO*NL*32), .N(ACC_LATENCY)) u_acc_pipe (
    .clk(clk), .rst(rst), .d({meta_p, lanes_p}), .q({meta_a, lanes_a}));
  wire        a_valid = meta_a[MW-1];
  wire        a_first = meta_a[MW-2];
  wire        a_last = meta_a[MW-3];
  wire        a_final = meta_a[MW-4];
  wire [31:0] a_ot = meta_a[MW-5 -: 32];
  wire [31:0] a_slot_base = meta_a[MW-37 -: 32];

  generate
    for (o = 0; o < PO; o = o + 1) begin : bias
      for (k = 0; k < 2; k = k + 1) begin : bk
        assign b_addr[(o*2 + k)*32 +: 32] = (a_ot * PO + o) * NW + k;
      end
    end
    for (p = 0; p < PP; p = p + 1) begin : wbp
      wire [31:0] a_oh = meta_a[p*64 + 32 +: 32];
      wire [31:0] a_ows = meta_a[p*64 +: 32];
      wire slot_ok = (a_slot_base + p) < SLOTS;
      for (o = 0; o < PO; o = o + 1) begin : wbo
        for (li = 0; li < 4; li = li + 1) begin : wbl
          localparam integer n = (p*PO + o)*4 + li;
          if (li < NL) begin : u
            localparam integer ai = (p*PO + o)*NL + li;
            wire [31:0] v = lanes_a[ai*32 +: 32];
            reg  [31:0] acc;
            wire [31:0] sum = a_first ? v : acc + v;
            wire [31:0] oc_ = (a_ot * PO + o) * NW + lane_w(li);
            wire [31:0] ow = a_ows * NA + lane_a(li);
            always @(posedge clk) if (a_valid) acc <= sum;
            assign wb_we[n] = a_valid && a_last && slot_ok && (oc_ < OUTC) && (ow < OUTW);
            assign wb_addr[n*32 +: 32] = (a_oh * OUTW + ow) * OUTC + oc_;
            assign wb_data[n*32 +: 32] = sum + b_data[(o*2 + lane_w(li))*32 +: 32];
          end else begin : z
            assign wb_we[n] = 1'b0;
            assign wb_addr[n*32 +: 32] = 32'd0;
            assign wb_data[n*32 +: 32] = 32'd0;
          end
        end
      end
    end
  endgenerate

  // ---- sequential control ------------------------------------------------------------------
  integer q;
  always @(posedge clk) begin
    if (rst) begin
      state <= S_IDLE;
      cyc <= 0; cycles_r <= 0; stalls <= 0; pre_k <= 0;
      ot <= 0; pt <= 0; kh <= 0; kw <= 0; ct <= 0; kidx <= 0; slot_base <= 0; all_issued <= 1'b0;
      active_half <= 1'b0; loading_valid <= 1'b0; loading_tile <= 0; loaded <= 0; timer <= 0;
    end else begin
      case (state)
        S_IDLE: if (start) begin
          state <= (TILEWORDS == 0) ? S_RUN : S_PRELOAD;
          pre_k <= 0;
          for (q = 0; q < PP; q = q + 1) begin
            lane_oh[q] <= init_oh[q];
            lane_ows[q] <= init_ows[q];
          end
        end
        S_PRELOAD: begin
          wbuf[pre_k] <= w_data;
          pre_k <= pre_k + 1;
          if (pre_k + 1 == TILEWORDS) state <= S_RUN;
        end
        S_RUN: begin
          cyc <= cyc + 1;
          if (stall) stalls <= stalls + 1;
          // the loop nest
          if (issue) begin
            if (ct + 1 < TC) ct <= ct + 1;
            else begin
              ct <= 0;
              if (kw + 1 < KW) kw <= kw + 1;
              else begin
                kw <= 0;
                if (kh + 1 < KH) kh <= kh + 1;
                else begin
                  kh <= 0;
                  if (pt + 1 < TP) begin
                    pt <= pt + 1;
                    slot_base <= slot_base + PP;
                    for (q = 0; q < PP; q = q + 1) begin
                      if (lane_ows[q] + PPR >= SPR) begin
                        lane_ows[q] <= lane_ows[q] + PPR - SPR;
                        lane_oh[q] <= lane_oh[q] + PPQ + 1;
                      end else begin
                        lane_ows[q] <= lane_ows[q] + PPR;
                        lane_oh[q] <= lane_oh[q] + PPQ;
                      end
                    end
                  end else begin
                    pt <= 0;
                    slot_base <= 0;
                    for (q = 0; q < PP; q = q + 1) begin
                      lane_oh[q] <= init_oh[q];
                      lane_ows[q] <= init_ows[q];
                    end
                    if (ot + 1 < TO) ot <= ot + 1;
                    else all_issued <= 1'b1;
                  end
                end
              end
            end
            kidx <= tap_last ? 32'd0 : kidx + 1;
          end
          // the weight loader (start, then one tick)
          active_half <= half_e;
          loading_valid <= lv_e;
          loading_tile <= lt_e;
          if (load_word) begin
            wbuf[(half_e ? 0 : WBUF_DEPTH) + ld_e] <= w_data;
            loaded <= ld_e + 1;
            timer <= 0;
          end else begin
            loaded <= ld_e;
            timer <= load_tick ? tm_e + 1 : tm_e;
          end
          // the last partial sum reached the accumulator
          if (a_valid && a_final) begin
            state <= S_DONE;
            cycles_r <= cyc + 1;
          end
        end
        default: ;
      endcase
    end
  end
endmodule
`default_nettype wire
