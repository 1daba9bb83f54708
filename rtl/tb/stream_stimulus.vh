// stream_stimulus.vh: the stimulus side shared by the streaming testbenches (contract_tb,
// overpack_tb). Include it inside the module after declaring `clk`, the parameter DEPTH
// (stimulus lines, a power of two) and the localparam SW (bits per line, in_valid on top).
//
// Reads (in the working directory):
//   tb.hex    [0] stimulus cycles n, [1] drain cycles after them
//   stim.hex  n lines of SW bits, one per cycle, in_valid in bits [SW-4 +: 4] (0 or 1)
// Provides: rst (high for the first 4 clocks), cycle (0 = the first stimulus cycle), running,
// s (this cycle's line, zeros outside the stream), in_valid, the output file handle f
// (out.txt, opened at clock 0) and done (the last drain cycle: close f and $finish there, in
// the always block that writes f, so nothing races the last line).
  reg [31:0] tbc [0:1];
  reg [SW-1:0] stim [0:DEPTH-1];
  initial begin
    $readmemh("tb.hex", tbc);
    $readmemh("stim.hex", stim);
  end

  integer clocks = 0;
  integer f = 0;
  reg rst = 1'b1;
  wire [31:0] cycle = clocks - 4;
  wire running = !rst && clocks >= 4;
  wire [SW-1:0] s = (running && cycle < tbc[0]) ? stim[cycle[$clog2(DEPTH)-1:0]] : {SW{1'b0}};
  wire in_valid = s[SW-4];
  wire done = running && cycle + 1 >= tbc[0] + tbc[1];

  always @(posedge clk) begin
    clocks <= clocks + 1;
    if (clocks == 3) rst <= 1'b0;
    if (clocks == 0) f = $fopen("out.txt", "w");
  end
