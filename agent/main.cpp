// ironlb-agent entry point (filled in by the agent/runtime work).
#include <iostream>
int main() {
  std::cerr << "ironlb-agent: not yet wired\n";
  return 2;
}
