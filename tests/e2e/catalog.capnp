@0xe38c60cc0f096689;
# An online shop's product catalog, written as a weft user would: several
# interfaces in one file, `extends`, nested structs, lists, unions, enums,
# Text and Data, explicit struct params and results, and weft's annotations.
# The end-to-end tests in catalog_test.cc serve it with thread workers.

using Cxx = import "/capnp/c++.capnp";
using Weft = import "/schema/weft.capnp";
$Cxx.namespace("shop::catalog");

# What a product is filed under.
enum Category {
  tools @0;
  garden @1;
  kitchen @2;
  books @3;
}

enum Currency {
  eur @0;
  usd @1;
  jpy @2;
}

# An amount of money in minor units (cents; yen have none).
struct Money {
  amount @0 :Int64;
  currency @1 :Currency;
}

struct Dimensions {
  widthMm @0 :UInt32;
  heightMm @1 :UInt32;
  depthMm @2 :UInt32;
}

struct Backorder {
  expectedDays @0 :UInt16;
  supplier @1 :Text;
}

# One product.
struct Item {
  sku @0 :Text;
  name @1 :Text;
  category @2 :Category;
  price @3 :Money;
  tags @4 :List(Text);
  # Units on hand in each warehouse, by warehouse number.
  stock @5 :List(UInt32);
  dimensions @6 :Dimensions;
  thumbnail @7 :Data;
  availability :union {
    inStock @8 :Void;
    backordered @9 :Backorder;
    discontinued @10 :Text;  # why
  }
}

# What `search` looks for: an explicit params struct with an unnamed union
# and a group.
struct Query {
  union {
    all @0 :Void;
    bySku @1 :Text;
    byCategory @2 :Category;
    byTag @3 :Text;
  }
  limit @4 :UInt32;
  priceRange :group {
    min @5 :Int64;
    max @6 :Int64;
  }
}

# What `upsert` did: an explicit results struct with a union.
struct UpsertOutcome {
  union {
    created @0 :UInt32;     # the new catalog size
    updated @1 :Item;       # the item it replaced
    rejected @2 :Text;      # why
  }
  revision @3 :UInt64;
}

# Liveness and identity, shared by every service of the shop.
interface Health {
  ping @0 () -> (pong :Text, worker :UInt32);
  # No params: a flat form without arguments. `worker` is the serving worker.

  note @1 (message :Text) -> ();
  # Records a line in the worker's log; no results.
}

# Bulk bytes (images, exports).
interface Blobs {
  digest @0 (blob :Data, salt :UInt64) -> (checksum :UInt64, size :UInt64);
  # FNV-1a of `salt` (8 little-endian bytes) then every byte of `blob`.

  generate @1 (size :UInt64, seed :UInt8) -> (blob :Data, checksum :UInt64);
  # `size` bytes, byte i = (i * 131 + seed) mod 256, and their FNV-1a.
}

# The catalog service: its own methods plus Health's and Blobs'.
interface Catalog extends(Health, Blobs) {
  lookup @0 (sku :Text, currency :Currency, withThumbnail :Bool) -> (found :Bool, item :Item);
  # One item, its price converted to `currency`. Flat form: Text, enum, Bool.

  upsert @1 (item :Item, expectedRevision :UInt64) -> UpsertOutcome;
  # Adds or replaces an item. Builder form only (a struct param).

  search @2 Query -> (items :List(Item), skus :List(Text), total :UInt32);
  # Explicit params struct with a union.

  restock @3 (sku :Text, deliveries :List(UInt32)) -> (stock :List(UInt32), total :UInt64);
  # Adds each delivery to the warehouse of the same index.

  quote @4 (sku :Text, quantity :UInt32, discountPercent :Float64, currency :Currency,
            coupon :Data) -> (total :Money, perUnit :Float64, couponValid :Bool);
  # A price quote: every kind of flat param.

  fail @5 (code :UInt32, message :Text) -> ();
  # Returns absl::Status(code, message).

  explode @6 (message :Text) -> ();
  # Throws std::runtime_error(message).

  stall @7 () -> (sawAbort :Bool) $Weft.abortable $Weft.timeoutMs(50);
  # Waits until the call is aborted (by the caller or by its 50 ms default
  # deadline).

  reindex @8 (rounds :UInt64) -> (done :UInt64) $Weft.abortable;
  # Busy work that stops early when aborted.

  clear @9 () -> ();
  # Empties the catalog: no params, no results.
}

# A separate service in the same file, not derived from anything.
interface Pricing {
  convert @0 (amount :Money, to :Currency) -> (converted :Money);
  # Builder form only (a struct param).

  rates @1 () -> (currencies :List(Currency), perEur :List(Float64));
}
