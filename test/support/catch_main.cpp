// Catch2's main, compiled once, without optimization (at -O3 this one file takes ~25 s).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
