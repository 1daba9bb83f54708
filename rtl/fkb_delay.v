// fkb_delay: N registers in a row (N = 0: a wire). What enters in cycle t leaves in cycle t + N.
`default_nettype none
module fkb_delay #(
  parameter integer W = 1,
  parameter integer N = 1
) (
  input  wire         clk,
  input  wire         rst,
  input  wire [W-1:0] d,
  output wire [W-1:0] q
);
  generate
    if (N == 0) begin : wire_
      assign q = d;
    end else begin : regs
      reg [W-1:0] r [0:N-1];
      integer i;
      always @(posedge clk) begin
        if (rst) begin
          for (i = 0; i < N; i = i + 1) r[i] <= {W{1'b0}};
        end else begin
          r[0] <= d;
          for (i = 1; i < N; i = i + 1) r[i] <= r[i-1];
        end
      end
      assign q = r[N-1];
    end
  endgenerate
endmodule
`default_nettype wire
