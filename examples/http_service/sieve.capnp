@0xbe2efe9c8cc64faf;
# The CPU-heavy work http_service offloads: counting primes with a sieve.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("http_service");

interface Sieve {
  # How many primes are at most `limit`, and the largest of them (0 when
  # there is none). Fails with InvalidArgument above 10,000,000.
  primes @0 (limit :UInt32) -> (count :UInt32, last :UInt32);
}
