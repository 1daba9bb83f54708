// The Verilator driver of rtl/tb/cosim_tb.v and rtl/tb/contract_tb.v: toggles the top's clk
// until the testbench calls $finish.
#include <memory>
#include "verilated.h"
#include VTOP_HEADER

int main(int argc, char** argv) {
  auto ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  auto top = std::make_unique<VTOP>(ctx.get());
  top->clk = 0;
  top->eval();
  while (!ctx->gotFinish()) {
    top->clk = !top->clk;
    top->eval();
  }
  top->final();
  return 0;
}
