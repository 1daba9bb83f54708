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
// The layer is programmed through `cfg` (32-bit fields, host-computed loop bounds and address
// strides, like CSRs an embedded CPU writes): see the CFG_* indices below. Addresses are generated
// incrementally (registers stepped by those strides, as address generators do): the controller
// has no multiplier, so the only DSP48E2s are the PP x PO x L of the cascades. TRACE=0 (the
// synthesis top) ties the simulation-only dbg_* outputs to 0. Memories are outside (ports with a
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
  parameter integer WBUF_DEPTH = 64,
  parameter integer TRACE = 1
) (
  input  wire clk,
  input  wire rst,
  input  wire start,
  input  wire [35*32-1:0] cfg,
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
    CFG_PADL = 14, CFG_ZPCODE = 15, CFG_PPQ = 16, CFG_PPR = 17, CFG_OUTC = 18, CFG_TILEWORDS = 19,
    // strides (products of the fields above, mod 2^32; NA = activations per DSP lane):
    CFG_RS = 20,        // INW*TC: activation words per input row
    CFG_SWTC = 21,      // SW*TC: the next output pixel's input column, in words
    CFG_SHRS = 22,      // SH*RS: the next output row's input row, in words
    CFG_PADROW = 23,    // -PADT*RS
    CFG_PADCOL = 24,    // -PADL*TC
    CFG_DQ_IH = 25,     // PPQ*SH: a pixel-tile step in input rows (PPQ output rows)
    CFG_DR_IW = 26,     // PPR*NA*SW: ... in input columns (PPR slots)
    CFG_DS_IW = 27,     // SPR*NA*SW: a row's worth of slots in input columns
    CFG_DQ_ROW = 28,    // PPQ*SH*RS
    CFG_DR_COL = 29,    // PPR*NA*SW*TC
    CFG_DS_COL = 30,    // SPR*NA*SW*TC
    CFG_OWOC = 31,      // OUTW*OUTC: output words per output row
    CFG_DQ_OROW = 32,   // PPQ*OUTW*OUTC
    CFG_DR_OCOL = 33,   // PPR*NA*OUTC
    CFG_DS_OCOL = 34;   // SPR*NA*OUTC
  wire [31:0] TO = cfg[CFG_TO*32 +: 32], TP = cfg[CFG_TP*32 +: 32], KH = cfg[CFG_KH*32 +: 32];
  wire [31:0] KW = cfg[CFG_KW*32 +: 32], TC = cfg[CFG_TC*32 +: 32], INC = cfg[CFG_INC*32 +: 32];
  wire [31:0] SLOTS = cfg[CFG_SLOTS*32 +: 32], SPR = cfg[CFG_SPR*32 +: 32], OUTW = cfg[CFG_OUTW*32 +: 32];
  wire signed [31:0] INH = cfg[CFG_INH*32 +: 32], INW = cfg[CFG_INW*32 +: 32];
  wire [31:0] SH = cfg[CFG_SH*32 +: 32], SW = cfg[CFG_SW*32 +: 32];
  wire [31:0] PADT = cfg[CFG_PADT*32 +: 32], PADL = cfg[CFG_PADL*32 +: 32];
  wire [7:0]  ZPCODE = cfg[CFG_ZPCODE*32 +: 8];
  wire [31:0] PPR = cfg[CFG_PPR*32 +: 32], OUTC = cfg[CFG_OUTC*32 +: 32];
  wire [31:0] TILEWORDS = cfg[CFG_TILEWORDS*32 +: 32];
  wire [31:0] RS = cfg[CFG_RS*32 +: 32], SWTC = cfg[CFG_SWTC*32 +: 32], SHRS = cfg[CFG_SHRS*32 +: 32];
  wire [31:0] PADROW = cfg[CFG_PADROW*32 +: 32], PADCOL = cfg[CFG_PADCOL*32 +: 32];
  wire [31:0] DQ_IH = cfg[CFG_DQ_IH*32 +: 32], DR_IW = cfg[CFG_DR_IW*32 +: 32], DS_IW = cfg[CFG_DS_IW*32 +: 32];
  wire [31:0] DQ_ROW = cfg[CFG_DQ_ROW*32 +: 32], DR_COL = cfg[CFG_DR_COL*32 +: 32], DS_COL = cfg[CFG_DS_COL*32 +: 32];
  wire [31:0] OWOC = cfg[CFG_OWOC*32 +: 32], DQ_OROW = cfg[CFG_DQ_OROW*32 +: 32];
  wire [31:0] DR_OCOL = cfg[CFG_DR_OCOL*32 +: 32], DS_OCOL = cfg[CFG_DS_OCOL*32 +: 32];
  // x * NA (NA is 1 or 2: a shift, written as one so no multiplier is inferred)
  function [31:0] times_na(input [31:0] x);
    times_na = (NA == 2) ? {x[30:0], 1'b0} : x;
  endfunction
  wire [31:0] NASW = times_na(SW), NASWTC = times_na(SWTC), NAOC = times_na(OUTC);

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
  reg [31:0] ocb;          // ot * PO * NW: the output tile's first output channel
  reg [31:0] cl;           // ct * L: the channel tile's first input channel
  reg [31:0] trow, tcol;   // kh * RS, kw * TC + ct: the tap's and channel tile's address offset
  reg        all_issued;
  // per pixel lane: output column slot, input row/column of tap (0,0) (padding subtracted),
  // their address terms, and the output address terms
  reg [31:0] lane_ows [0:PP-1];
  reg [31:0] lane_ih [0:PP-1];
  reg [31:0] lane_iw [0:PP-1];
  reg [31:0] lane_row [0:PP-1];    // lane_ih * RS
  reg [31:0] lane_col [0:PP-1];    // lane_iw * TC
  reg [31:0] lane_orow [0:PP-1];   // oh * OUTW * OUTC
  reg [31:0] lane_ocol [0:PP-1];   // ows * NA * OUTC
  // loader
  reg        active_half, loading_valid;
  reg [31:0] loading_tile, loaded, timer;
  reg [31:0] load_base, next_base;   // loading_tile * TILEWORDS, (ot + 1) * TILEWORDS
  localparam integer WBA = $clog2(2 * WBUF_DEPTH);
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
  wire [31:0] lb_e = start_tile ? next_base : load_base;
  wire [31:0] ld_e = start_tile ? 32'd0 : loaded;
  wire [31:0] tm_e = start_tile ? 32'd0 : timer;
  wire        load_tick = (state == S_RUN) && lv_e && (ld_e < TILEWORDS);
  wire        load_word = load_tick && (tm_e + 1 >= WORD_CYCLES);
  assign w_addr = (state == S_PRELOAD) ? pre_k : lb_e + ld_e;

  // the weight buffer: one write port (preload or loader), one combinational read port
  wire [31:0] wb_wa = (state == S_PRELOAD) ? pre_k : (half_e ? 32'd0 : WBUF_DEPTH) + ld_e;
  wire [31:0] wb_ra = (half_e ? WBUF_DEPTH : 32'd0) + kidx;
  wire        wb_wen = (state == S_PRELOAD) || ((state == S_RUN) && load_word);
  always @(posedge clk) if (wb_wen) wbuf[wb_wa[WBA-1:0]] <= w_data;
  wire [NWORD*8-1:0] word = wbuf[wb_ra[WBA-1:0]];

  // lane state at pixel tile 0: lane p is slot p = (p / SPR, p % SPR)
  /* verilator lint_off UNOPTFLAT */
  wire [31:0] init_ows [0:PP-1];
  wire [31:0] init_ih [0:PP-1];
  wire [31:0] init_iw [0:PP-1];
  wire [31:0] init_row [0:PP-1];
  wire [31:0] init_col [0:PP-1];
  wire [31:0] init_orow [0:PP-1];
  wire [31:0] init_ocol [0:PP-1];
  /* verilator lint_on UNOPTFLAT */
  genvar p, o, k, j, li;
  generate
    for (p = 0; p < PP; p = p + 1) begin : init
      if (p == 0) begin : z
        assign init_ows[p] = 32'd0;
        assign init_ih[p] = -PADT;
        assign init_iw[p] = -PADL;
        assign init_row[p] = PADROW;
        assign init_col[p] = PADCOL;
        assign init_orow[p] = 32'd0;
        assign init_ocol[p] = 32'd0;
      end else begin : n
        wire wrap = (init_ows[p-1] + 1 == SPR);   // the previous slot ends its output row
        assign init_ows[p] = wrap ? 32'd0 : init_ows[p-1] + 1;
        assign init_ih[p] = wrap ? init_ih[p-1] + SH : init_ih[p-1];
        assign init_iw[p] = wrap ? -PADL : init_iw[p-1] + NASW;
        assign init_row[p] = wrap ? init_row[p-1] + SHRS : init_row[p-1];
        assign init_col[p] = wrap ? PADCOL : init_col[p-1] + NASWTC;
        assign init_orow[p] = wrap ? init_orow[p-1] + OWOC : init_orow[p-1];
        assign init_ocol[p] = wrap ? 32'd0 : init_ocol[p-1] + NAOC;
      end
    end
  endgenerate

  // ---- operands: activations per pixel lane, weights per cascade ---------------------------
  wire [PP*L*16-1:0] act_bus;    // lane p: the cascade's `a` bus
  generate
    for (p = 0; p < PP; p = p + 1) begin : lane
      wire slot_ok = (slot_base + p) < SLOTS;
      wire [31:0] lane_addr = lane_row[p] + lane_col[p] + trow + tcol;   // (ih*INW + iw)*TC + ct at k = 0
      for (k = 0; k < 2; k = k + 1) begin : act
        wire [31:0] ow = times_na(lane_ows[p]) + k;
        wire signed [31:0] ih = lane_ih[p] + kh;
        wire signed [31:0] iw = lane_iw[p] + (k ? SW : 32'd0) + kw;
        wire in_map = (ih >= 0) && (ih < INH) && (iw >= 0) && (iw < INW);
        wire used = (k < NA) && slot_ok && (ow < OUTW);
        assign a_addr[(p*2 + k)*32 +: 32] = (used && in_map) ? lane_addr + (k ? SWTC : 32'd0) : 32'd0;
        wire [L*8-1:0] data = a_data[(p*2 + k)*L*8 +: L*8];
        for (j = 0; j < L; j = j + 1) begin : ch
          wire live = used && (cl + j < INC);
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
      assign pos_now[p*64 +: 64] = {lane_orow[p] + lane_ocol[p], lane_ows[p]};
    end
  endgenerate
  wire [MW-1:0] meta_in = {issue, tap_first, tap_last, final_issue, ocb, slot_base, pos_now};
  wire [MW-1:0] meta_p;    // in the cycle the last stage's P holds this issue
  fkb_delay #(.W(MW), .N(META_N)) u_meta (.clk(clk), .rst(rst), .d(meta_in), .q(meta_p));

  // ---- cascades, decode, ACC_LATENCY, accumulation -------------------------------------------
  wire [PP*PO*NL*32-1:0] lanes_p;
  wire [PP*PO*L*48-1:0] stage_p;
  wire [PP*PO*L-1:0] stage_v;
  assign dbg_p = (TRACE != 0) ? stage_p : {PP*PO*L*48{1'b0}};
  assign dbg_v = (TRACE != 0) ? stage_v : {PP*PO*L{1'b0}};
  generate
    for (p = 0; p < PP; p = p + 1) begin : px
      for (o = 0; o < PO; o = o + 1) begin : oc
        wire [191:0] lanes;
        packed_cascade #(.SCHEME(SCHEME), .L(L), .DSP_LATENCY(DSP_LATENCY)) u_casc (
          .clk(clk), .rst(rst), .in_valid(issue), .w(wsel[o].wb), .a(act_bus[p*L*16 +: L*16]),
          .out_valid(), .p_out(), .lanes(lanes),
          .stage_p(stage_p[(p*PO + o)*L*48 +: L*48]), .stage_valid(stage_v[(p*PO + o)*L +: L]));
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
  wire [31:0] a_ocb = meta_a[MW-5 -: 32];
  wire [31:0] a_slot_base = meta_a[MW-37 -: 32];

  generate
    for (o = 0; o < PO; o = o + 1) begin : bias
      for (k = 0; k < 2; k = k + 1) begin : bk
        assign b_addr[(o*2 + k)*32 +: 32] = a_ocb + o * NW + k;
      end
    end
    for (p = 0; p < PP; p = p + 1) begin : wbp
      wire [31:0] a_opix = meta_a[p*64 + 32 +: 32];   // (oh * OUTW + ows * NA) * OUTC
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
            wire [31:0] oc_ = a_ocb + o * NW + lane_w(li);
            wire [31:0] ow = times_na(a_ows) + lane_a(li);
            always @(posedge clk) if (a_valid) acc <= sum;
            assign wb_we[n] = a_valid && a_last && slot_ok && (oc_ < OUTC) && (ow < OUTW);
            assign wb_addr[n*32 +: 32] = a_opix + (lane_a(li) != 0 ? OUTC : 32'd0) + oc_;
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
`define FKB_LANES_INIT \
          for (q = 0; q < PP; q = q + 1) begin \
            lane_ows[q] <= init_ows[q]; lane_ih[q] <= init_ih[q]; lane_iw[q] <= init_iw[q]; \
            lane_row[q] <= init_row[q]; lane_col[q] <= init_col[q]; \
            lane_orow[q] <= init_orow[q]; lane_ocol[q] <= init_ocol[q]; \
          end
  always @(posedge clk) begin
    if (rst) begin
      state <= S_IDLE;
      cyc <= 0; cycles_r <= 0; stalls <= 0; pre_k <= 0;
      ot <= 0; pt <= 0; kh <= 0; kw <= 0; ct <= 0; kidx <= 0; slot_base <= 0; all_issued <= 1'b0;
      ocb <= 0; cl <= 0; trow <= 0; tcol <= 0;
      active_half <= 1'b0; loading_valid <= 1'b0; loading_tile <= 0; loaded <= 0; timer <= 0;
      load_base <= 0; next_base <= 0;
    end else begin
      case (state)
        S_IDLE: if (start) begin
          state <= (TILEWORDS == 0) ? S_RUN : S_PRELOAD;
          pre_k <= 0;
          next_base <= TILEWORDS;   // ot = 0 after reset
          `FKB_LANES_INIT
        end
        S_PRELOAD: begin
          pre_k <= pre_k + 1;
          if (pre_k + 1 == TILEWORDS) state <= S_RUN;
        end
        S_RUN: begin
          cyc <= cyc + 1;
          if (stall) stalls <= stalls + 1;
          // the loop nest
          if (issue) begin
            if (ct + 1 < TC) begin
              ct <= ct + 1;
              cl <= cl + L;
            end else begin
              ct <= 0;
              cl <= 0;
              if (kw + 1 < KW) kw <= kw + 1;
              else begin
                kw <= 0;
                if (kh + 1 < KH) begin
                  kh <= kh + 1;
                  trow <= trow + RS;
                end else begin
                  kh <= 0;
                  trow <= 0;
                  if (pt + 1 < TP) begin
                    pt <= pt + 1;
                    slot_base <= slot_base + PP;
                    for (q = 0; q < PP; q = q + 1) begin
                      if (lane_ows[q] + PPR >= SPR) begin   // the step crosses an output row
                        lane_ows[q] <= lane_ows[q] + PPR - SPR;
                        lane_ih[q] <= lane_ih[q] + DQ_IH + SH;
                        lane_iw[q] <= lane_iw[q] + DR_IW - DS_IW;
                        lane_row[q] <= lane_row[q] + DQ_ROW + SHRS;
                        lane_col[q] <= lane_col[q] + DR_COL - DS_COL;
                        lane_orow[q] <= lane_orow[q] + DQ_OROW + OWOC;
                        lane_ocol[q] <= lane_ocol[q] + DR_OCOL - DS_OCOL;
                      end else begin
                        lane_ows[q] <= lane_ows[q] + PPR;
                        lane_ih[q] <= lane_ih[q] + DQ_IH;
                        lane_iw[q] <= lane_iw[q] + DR_IW;
                        lane_row[q] <= lane_row[q] + DQ_ROW;
                        lane_col[q] <= lane_col[q] + DR_COL;
                        lane_orow[q] <= lane_orow[q] + DQ_OROW;
                        lane_ocol[q] <= lane_ocol[q] + DR_OCOL;
                      end
                    end
                  end else begin
                    pt <= 0;
                    slot_base <= 0;
                    `FKB_LANES_INIT
                    if (ot + 1 < TO) begin
                      ot <= ot + 1;
                      ocb <= ocb + PO * NW;
                      next_base <= next_base + TILEWORDS;
                    end else all_issued <= 1'b1;
                  end
                end
              end
            end
            kidx <= tap_last ? 32'd0 : kidx + 1;
            tcol <= (kw + 1 < KW || ct + 1 < TC) ? tcol + 1 : 32'd0;
          end
          // the weight loader (start, then one tick)
          active_half <= half_e;
          loading_valid <= lv_e;
          loading_tile <= lt_e;
          load_base <= lb_e;
          if (load_word) begin
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
`undef FKB_LANES_INIT
`default_nettype wire
