// End to end, as a user would write it: a schema of our own (catalog.capnp),
// the generated weft::Stub / weft::Skeleton, and pools of thread workers.
// Every shape of the schema crosses shared memory both ways and every result
// is checked against a value computed here.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "capnp/message.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/e2e/catalog.weft.h"

namespace shop::catalog {
namespace {

// ---------------------------------------------------------------------------
// Compile time: the generated traits and stub shapes.

using CatalogTraits = weft::InterfaceTraits<Catalog>;
constexpr bool Eq(const char* a, std::string_view b) { return std::string_view(a) == b; }

static_assert(Eq(CatalogTraits::kName, "shop::catalog::Catalog"));
static_assert(CatalogTraits::kTypeId == capnp::typeId<Catalog>());
static_assert(weft::InterfaceTraits<Health>::kTypeId == capnp::typeId<Health>());
// 10 own methods, then Health's 2, then Blobs' 2 (extends order).
static_assert(CatalogTraits::kMethodCount == 14);
static_assert(Eq(CatalogTraits::kMethods[0].name, "lookup"));
static_assert(!CatalogTraits::kMethods[0].abortable && CatalogTraits::kMethods[0].timeout_ms == 0);
static_assert(Eq(CatalogTraits::kMethods[7].name, "stall"));
static_assert(CatalogTraits::kMethods[7].abortable);
static_assert(CatalogTraits::kMethods[7].timeout_ms == 50);
static_assert(Eq(CatalogTraits::kMethods[8].name, "reindex"));
static_assert(CatalogTraits::kMethods[8].abortable && CatalogTraits::kMethods[8].timeout_ms == 0);
static_assert(Eq(CatalogTraits::kMethods[10].name, "ping"));
static_assert(Eq(CatalogTraits::kMethods[10].interface_name, "shop::catalog::Health"));
static_assert(CatalogTraits::kMethods[10].interface_id == capnp::typeId<Health>());
static_assert(CatalogTraits::kMethods[10].ordinal == 0 && CatalogTraits::kMethods[10].index == 10);
static_assert(Eq(CatalogTraits::kMethods[13].name, "generate"));
static_assert(Eq(CatalogTraits::kMethods[13].interface_name, "shop::catalog::Blobs"));
static_assert(CatalogTraits::kMethods[13].interface_id == capnp::typeId<Blobs>());
static_assert(CatalogTraits::kMethods[13].ordinal == 1 && CatalogTraits::kMethods[13].index == 13);
static_assert(weft::InterfaceTraits<Pricing>::kMethodCount == 2);

// Explicit struct params / results are used as such; inherited methods keep
// their declaring interface's types.
using CatalogStub = weft::Stub<Catalog>;
static_assert(std::is_same_v<CatalogStub::SearchParams, Query>);
static_assert(std::is_same_v<CatalogStub::UpsertResults, UpsertOutcome>);
static_assert(std::is_same_v<CatalogStub::PingResults, Health::PingResults>);
static_assert(std::is_same_v<CatalogStub::DigestParams, Blobs::DigestParams>);
// Flat forms exist where every param is flat (none for struct/list params).
static_assert(requires(CatalogStub s) {
  s.ping();
  s.clear();
  s.stall();
  s.lookup("sku", Currency::EUR, true);
  s.quote("sku", 1u, 0.5, Currency::USD, capnp::Data::Reader());
});
template <typename S>
concept HasFlatUpsert = requires(S s, Item::Reader item) {
  s.upsert(item, uint64_t{1});
};
template <typename S>
concept HasFlatRestock = requires(S s, capnp::List<uint32_t>::Reader l) {
  s.restock("x", l);
};
template <typename S>
concept HasFlatLookup = requires(S s) {
  s.lookup("x", Currency::EUR, false);
};
static_assert(!HasFlatUpsert<CatalogStub>);
static_assert(!HasFlatRestock<CatalogStub>);
static_assert(HasFlatLookup<CatalogStub>);  // the concept can be satisfied

// ---------------------------------------------------------------------------
// The service.

uint64_t Fnv(capnp::Data::Reader data, uint64_t salt) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < 8; ++i) h = (h ^ ((salt >> (8 * i)) & 0xff)) * 1099511628211ull;
  for (kj::byte b : data) h = (h ^ b) * 1099511628211ull;
  return h;
}

kj::byte GeneratedByte(uint64_t i, uint8_t seed) { return static_cast<kj::byte>(i * 131 + seed); }

// Prices are kept in euro cents.
int64_t FromEur(int64_t cents, Currency to) {
  switch (to) {
    case Currency::EUR:
      return cents;
    case Currency::USD:
      return cents * 5 / 4;
    case Currency::JPY:
      return cents * 8 / 5;
  }
  return -1;
}
int64_t ToEur(int64_t amount, Currency from) {
  switch (from) {
    case Currency::EUR:
      return amount;
    case Currency::USD:
      return amount * 4 / 5;
    case Currency::JPY:
      return amount * 5 / 8;
  }
  return -1;
}

capnp::Data::Reader AsData(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string Str(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
template <typename T>
std::vector<T> Vec(typename capnp::List<T>::Reader list) {
  std::vector<T> out;
  for (T value : list) out.push_back(value);
  return out;
}
std::vector<std::string> Strs(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  for (capnp::Text::Reader t : list) out.push_back(Str(t));
  return out;
}

// State shared by all workers of one pool (the catalog itself).
struct Shop {
  struct Record {
    std::unique_ptr<capnp::MallocMessageBuilder> message;
    uint64_t revision = 0;
  };
  std::mutex mu;
  std::map<std::string, Record> items;  // guarded by mu
  std::vector<std::string> notes;       // guarded by mu

  std::atomic<int> stall_entered{0};
  std::atomic<int> stall_aborts{0};
  std::atomic<int> reindex_aborts{0};

  std::mutex entry_mu;
  std::condition_variable entry_cv;
  int reindex_entered = 0;  // guarded by entry_mu
  int reindex_worker = -1;  // guarded by entry_mu

  void WaitReindexEntered(int n) {
    std::unique_lock<std::mutex> lock(entry_mu);
    entry_cv.wait(lock, [&] { return reindex_entered >= n; });
  }
};

class CatalogImpl final : public weft::Skeleton<Catalog> {
 public:
  CatalogImpl(uint32_t index, Shop* shop) : index_(index), shop_(shop) {}

  absl::Status lookup(LookupCall& call) override {
    auto p = call.params();
    auto r = call.results();
    std::lock_guard<std::mutex> lock(shop_->mu);
    auto it = shop_->items.find(Str(p.getSku()));
    if (it == shop_->items.end()) {
      r.setFound(false);
      return absl::OkStatus();
    }
    r.setFound(true);
    r.setItem(it->second.message->getRoot<Item>().asReader());
    Item::Builder item = r.getItem();
    item.getPrice().setAmount(FromEur(item.getPrice().getAmount(), p.getCurrency()));
    item.getPrice().setCurrency(p.getCurrency());
    if (!p.getWithThumbnail()) item.disownThumbnail();
    return absl::OkStatus();
  }

  absl::Status upsert(UpsertCall& call) override {
    Item::Reader item = call.params().getItem();
    UpsertOutcome::Builder out = call.results();
    const std::string sku = Str(item.getSku());
    if (sku.empty()) {
      out.setRejected("empty sku");
      return absl::OkStatus();
    }
    if (item.getPrice().getCurrency() != Currency::EUR) {
      out.setRejected("prices are kept in eur");
      return absl::OkStatus();
    }
    std::lock_guard<std::mutex> lock(shop_->mu);
    auto it = shop_->items.find(sku);
    if (it == shop_->items.end()) {
      Shop::Record record{std::make_unique<capnp::MallocMessageBuilder>(), 1};
      record.message->setRoot(item);
      shop_->items.emplace(sku, std::move(record));
      out.setCreated(static_cast<uint32_t>(shop_->items.size()));
      out.setRevision(1);
      return absl::OkStatus();
    }
    Shop::Record& record = it->second;
    if (call.params().getExpectedRevision() != record.revision) {
      const std::string why = absl::StrCat("stale revision ", call.params().getExpectedRevision(),
                                           ", current ", record.revision);
      out.setRejected(why.c_str());
      out.setRevision(record.revision);
      return absl::OkStatus();
    }
    out.setUpdated(record.message->getRoot<Item>().asReader());
    record.message = std::make_unique<capnp::MallocMessageBuilder>();
    record.message->setRoot(item);
    out.setRevision(++record.revision);
    return absl::OkStatus();
  }

  absl::Status search(SearchCall& call) override {
    Query::Reader q = call.params();
    std::lock_guard<std::mutex> lock(shop_->mu);
    std::vector<Item::Reader> matches;
    for (auto& [sku, record] : shop_->items) {
      Item::Reader item = record.message->getRoot<Item>().asReader();
      bool match = false;
      switch (q.which()) {
        case Query::ALL:
          match = true;
          break;
        case Query::BY_SKU:
          match = sku == Str(q.getBySku());
          break;
        case Query::BY_CATEGORY:
          match = item.getCategory() == q.getByCategory();
          break;
        case Query::BY_TAG:
          for (capnp::Text::Reader tag : item.getTags()) match = match || tag == q.getByTag();
          break;
      }
      const int64_t price = item.getPrice().getAmount();
      const auto range = q.getPriceRange();
      if (price < range.getMin() || (range.getMax() != 0 && price > range.getMax())) match = false;
      if (match) matches.push_back(item);
    }
    const size_t n =
        q.getLimit() == 0 ? matches.size() : std::min<size_t>(q.getLimit(), matches.size());
    auto r = call.results();
    r.setTotal(static_cast<uint32_t>(matches.size()));
    auto items = r.initItems(static_cast<unsigned>(n));
    auto skus = r.initSkus(static_cast<unsigned>(n));
    for (size_t i = 0; i < n; ++i) {
      items.setWithCaveats(static_cast<unsigned>(i), matches[i]);
      skus.set(static_cast<unsigned>(i), matches[i].getSku());
    }
    return absl::OkStatus();
  }

  absl::Status restock(RestockCall& call) override {
    auto p = call.params();
    std::lock_guard<std::mutex> lock(shop_->mu);
    auto it = shop_->items.find(Str(p.getSku()));
    if (it == shop_->items.end()) return absl::NotFoundError("no item " + Str(p.getSku()));
    Item::Builder item = it->second.message->getRoot<Item>();
    capnp::List<uint32_t>::Reader deliveries = p.getDeliveries();
    std::vector<uint32_t> stock = Vec<uint32_t>(item.getStock().asReader());
    if (deliveries.size() > stock.size()) stock.resize(deliveries.size());
    for (unsigned i = 0; i < deliveries.size(); ++i) stock[i] += deliveries[i];
    auto stored = item.getStock().size() == stock.size()
                      ? item.getStock()
                      : item.initStock(static_cast<unsigned>(stock.size()));
    auto out = call.results().initStock(static_cast<unsigned>(stock.size()));
    uint64_t total = 0;
    for (unsigned i = 0; i < stock.size(); ++i) {
      stored.set(i, stock[i]);
      out.set(i, stock[i]);
      total += stock[i];
    }
    call.results().setTotal(total);
    return absl::OkStatus();
  }

  absl::Status quote(QuoteCall& call) override {
    auto p = call.params();
    const double discount = p.getDiscountPercent();
    if (!(discount >= 0 && discount <= 100)) return absl::InvalidArgumentError("discount");
    int64_t unit = 0;
    {
      std::lock_guard<std::mutex> lock(shop_->mu);
      auto it = shop_->items.find(Str(p.getSku()));
      if (it == shop_->items.end()) return absl::NotFoundError("no item " + Str(p.getSku()));
      unit = it->second.message->getRoot<Item>().getPrice().getAmount();
    }
    const bool coupon = Str(p.getCoupon()) == "SAVE10";
    const int64_t gross = unit * p.getQuantity();
    const int64_t eur = std::llround(gross * (100.0 - discount - (coupon ? 10 : 0)) / 100.0);
    const int64_t total = FromEur(eur, p.getCurrency());
    auto r = call.results();
    r.initTotal().setAmount(total);
    r.getTotal().setCurrency(p.getCurrency());
    r.setPerUnit(p.getQuantity() == 0 ? 0.0 : static_cast<double>(total) / p.getQuantity());
    r.setCouponValid(coupon);
    return absl::OkStatus();
  }

  absl::Status fail(FailCall& call) override {
    return absl::Status(static_cast<absl::StatusCode>(call.params().getCode()),
                        Str(call.params().getMessage()));
  }

  absl::Status explode(ExplodeCall& call) override {
    throw std::runtime_error(Str(call.params().getMessage()));
  }

  absl::Status stall(StallCall& call) override {
    stall_entered_once();
    while (!call.aborted()) std::this_thread::yield();
    shop_->stall_aborts.fetch_add(1);
    call.results().setSawAbort(true);
    return absl::OkStatus();
  }

  absl::Status reindex(ReindexCall& call) override {
    {
      std::lock_guard<std::mutex> lock(shop_->entry_mu);
      ++shop_->reindex_entered;
      shop_->reindex_worker = static_cast<int>(index_);
      shop_->entry_cv.notify_all();
    }
    const uint64_t rounds = call.params().getRounds();
    uint64_t i = 0;
    while (i < rounds && !call.aborted()) {
      ++i;
      if ((i & 0xfff) == 0) std::this_thread::yield();
    }
    if (i < rounds) shop_->reindex_aborts.fetch_add(1);
    call.results().setDone(i);
    return absl::OkStatus();
  }

  absl::Status clear(ClearCall&) override {
    std::lock_guard<std::mutex> lock(shop_->mu);
    shop_->items.clear();
    return absl::OkStatus();
  }

  // Inherited from Health.
  absl::Status ping(PingCall& call) override {
    call.results().setPong(absl::StrCat("pong from ", index_).c_str());
    call.results().setWorker(index_);
    return absl::OkStatus();
  }
  absl::Status note(NoteCall& call) override {
    std::lock_guard<std::mutex> lock(shop_->mu);
    shop_->notes.push_back(Str(call.params().getMessage()));
    return absl::OkStatus();
  }

  // Inherited from Blobs.
  absl::Status digest(DigestCall& call) override {
    capnp::Data::Reader blob = call.params().getBlob();
    call.results().setChecksum(Fnv(blob, call.params().getSalt()));
    call.results().setSize(blob.size());
    return absl::OkStatus();
  }
  absl::Status generate(GenerateCall& call) override {
    const uint8_t seed = call.params().getSeed();
    capnp::Data::Builder blob = call.results().initBlob(call.params().getSize());
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = GeneratedByte(i, seed);
    call.results().setChecksum(Fnv(blob.asReader(), 0));
    return absl::OkStatus();
  }

 private:
  void stall_entered_once() { shop_->stall_entered.fetch_add(1); }

  uint32_t index_;
  Shop* shop_;
};

class HealthImpl final : public weft::Skeleton<Health> {
 public:
  explicit HealthImpl(uint32_t index) : index_(index) {}
  absl::Status ping(PingCall& call) override {
    call.results().setPong("health");
    call.results().setWorker(index_);
    return absl::OkStatus();
  }
  absl::Status note(NoteCall& call) override {
    if (call.params().getMessage().size() == 0) return absl::InvalidArgumentError("empty note");
    return absl::OkStatus();
  }

 private:
  uint32_t index_;
};

class PricingImpl final : public weft::Skeleton<Pricing> {
 public:
  absl::Status convert(ConvertCall& call) override {
    Money::Reader in = call.params().getAmount();
    const Currency to = call.params().getTo();
    auto out = call.results().initConverted();
    out.setAmount(FromEur(ToEur(in.getAmount(), in.getCurrency()), to));
    out.setCurrency(to);
    return absl::OkStatus();
  }
  absl::Status rates(RatesCall& call) override {
    auto currencies = call.results().initCurrencies(3);
    auto per_eur = call.results().initPerEur(3);
    const Currency all[] = {Currency::EUR, Currency::USD, Currency::JPY};
    for (unsigned i = 0; i < 3; ++i) {
      currencies.set(i, all[i]);
      per_eur.set(i, static_cast<double>(FromEur(10'000, all[i])) / 10'000);
    }
    return absl::OkStatus();
  }
};

// ---------------------------------------------------------------------------
// Fixtures.

// Declared before the pool so it outlives it.
struct Fixture {
  Shop shop;
  std::atomic<uint32_t> next_index{0};

  absl::StatusOr<weft::Pool<Catalog>> MakePool(weft::BalancerKind balancer, int workers) {
    weft::PoolOptions options;
    options.workers = workers;
    options.balancer = balancer;
    return weft::Pool<Catalog>::Create(
        options, [this] { return std::make_unique<CatalogImpl>(next_index++, &shop); });
  }
};

// A minimal in-stock item priced in euro cents.
auto SimpleItem(std::string sku, int64_t cents, uint32_t stock) {
  return [sku = std::move(sku), cents, stock](Catalog::UpsertParams::Builder p) {
    Item::Builder item = p.initItem();
    item.setSku(sku.c_str());
    item.setName("simple");
    item.initPrice().setAmount(cents);
    item.getPrice().setCurrency(Currency::EUR);
    item.initStock(1).set(0, stock);
    item.getAvailability().setInStock();
  };
}

const std::string kThumbnail("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\x00\x7f", 19);

void FillDrill(Catalog::UpsertParams::Builder p, int64_t cents, uint64_t expected_revision) {
  p.setExpectedRevision(expected_revision);
  Item::Builder item = p.initItem();
  item.setSku("drill-01");
  item.setName("Cordless drill 18V");
  item.setCategory(Category::TOOLS);
  Money::Builder price = item.initPrice();
  price.setAmount(cents);
  price.setCurrency(Currency::EUR);
  auto tags = item.initTags(3);
  tags.set(0, "power");
  tags.set(1, "cordless");
  tags.set(2, "18v");
  auto stock = item.initStock(3);
  stock.set(0, 4);
  stock.set(1, 0);
  stock.set(2, 7);
  Dimensions::Builder dims = item.initDimensions();
  dims.setWidthMm(240);
  dims.setHeightMm(210);
  dims.setDepthMm(75);
  item.setThumbnail(AsData(kThumbnail));
  item.getAvailability().setInStock();
}

// ---------------------------------------------------------------------------
// Tests.

TEST(CatalogE2E, FlatAndBuilderFormsRoundTripEveryShape) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kFirstIdle, 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();

  // Inherited, no params: flat form without arguments.
  {
    auto r = stub.ping().Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_LT(r->getWorker(), 2u);
    EXPECT_EQ(Str(r->getPong()), absl::StrCat("pong from ", r->getWorker()));
  }
  // Inherited, no results.
  {
    auto r = stub.note("opening the shop").Get();
    ASSERT_TRUE(r.ok()) << r.status();
    std::lock_guard<std::mutex> lock(f.shop.mu);
    EXPECT_EQ(f.shop.notes, std::vector<std::string>{"opening the shop"});
  }

  // Builder form: nested structs, lists of Text and primitives, Data, enum,
  // a union in the params; explicit results struct with a union.
  {
    auto r = stub.upsert([](auto p) { FillDrill(p, 12999, 0); }).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::CREATED);
    EXPECT_EQ(r->getCreated(), 1u);
    EXPECT_EQ(r->getRevision(), 1u);
  }
  {
    auto r = stub.upsert([](Catalog::UpsertParams::Builder p) {
                   Item::Builder item = p.initItem();
                   item.setSku("rake-02");
                   item.setName("Leaf rake");
                   item.setCategory(Category::GARDEN);
                   item.initPrice().setAmount(2450);
                   item.initTags(1).set(0, "outdoor");
                   Backorder::Builder b = item.getAvailability().initBackordered();
                   b.setExpectedDays(14);
                   b.setSupplier("Acme Garden");
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::CREATED);
    EXPECT_EQ(r->getCreated(), 2u);
  }
  {
    auto r = stub.upsert([](Catalog::UpsertParams::Builder p) {
                   Item::Builder item = p.initItem();
                   item.setSku("pan-03");
                   item.setName("Frying pan");
                   item.setCategory(Category::KITCHEN);
                   item.initPrice().setAmount(3900);
                   auto tags = item.initTags(2);
                   tags.set(0, "outdoor");
                   tags.set(1, "cast iron");
                   item.getAvailability().setDiscontinued("recalled");
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::CREATED);
    EXPECT_EQ(r->getCreated(), 3u);
  }
  // Rejections come back through the results union.
  {
    auto r = stub.upsert([](Catalog::UpsertParams::Builder p) {
                   Item::Builder item = p.initItem();
                   item.setSku("hat-04");
                   item.initPrice().setCurrency(Currency::USD);
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::REJECTED);
    EXPECT_EQ(Str(r->getRejected()), "prices are kept in eur");
  }
  {
    auto r = stub.upsert([](auto p) { FillDrill(p, 11999, 7); }).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::REJECTED);
    EXPECT_EQ(Str(r->getRejected()), "stale revision 7, current 1");
    EXPECT_EQ(r->getRevision(), 1u);
  }
  // A struct inside the results union: the item it replaced.
  {
    auto r = stub.upsert([](auto p) { FillDrill(p, 11999, 1); }).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->which(), UpsertOutcome::UPDATED);
    EXPECT_EQ(r->getRevision(), 2u);
    Item::Reader old = r->getUpdated();
    EXPECT_EQ(Str(old.getSku()), "drill-01");
    EXPECT_EQ(old.getPrice().getAmount(), 12999);
    EXPECT_EQ(Strs(old.getTags()), (std::vector<std::string>{"power", "cordless", "18v"}));
  }

  // Flat form: Text, enum, Bool. Nested structs, lists, Data and a union
  // read through the Response.
  {
    auto r = stub.lookup("drill-01", Currency::USD, true).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->getFound());
    Item::Reader item = r->getItem();
    EXPECT_EQ(Str(item.getSku()), "drill-01");
    EXPECT_EQ(Str(item.getName()), "Cordless drill 18V");
    EXPECT_EQ(item.getCategory(), Category::TOOLS);
    EXPECT_EQ(item.getPrice().getAmount(), 14998);  // 11999 * 5 / 4
    EXPECT_EQ(item.getPrice().getCurrency(), Currency::USD);
    EXPECT_EQ(Strs(item.getTags()), (std::vector<std::string>{"power", "cordless", "18v"}));
    EXPECT_EQ(Vec<uint32_t>(item.getStock()), (std::vector<uint32_t>{4, 0, 7}));
    EXPECT_EQ(item.getDimensions().getWidthMm(), 240u);
    EXPECT_EQ(item.getDimensions().getHeightMm(), 210u);
    EXPECT_EQ(item.getDimensions().getDepthMm(), 75u);
    EXPECT_EQ(Str(item.getThumbnail()), kThumbnail);  // embedded NULs included
    EXPECT_EQ(item.getAvailability().which(), Item::Availability::IN_STOCK);
  }
  {
    auto r = stub.lookup("rake-02", Currency::JPY, false).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->getFound());
    Item::Reader item = r->getItem();
    EXPECT_EQ(item.getPrice().getAmount(), 3920);  // 2450 * 8 / 5
    EXPECT_EQ(item.getPrice().getCurrency(), Currency::JPY);
    EXPECT_FALSE(item.hasThumbnail());
    ASSERT_EQ(item.getAvailability().which(), Item::Availability::BACKORDERED);
    EXPECT_EQ(item.getAvailability().getBackordered().getExpectedDays(), 14u);
    EXPECT_EQ(Str(item.getAvailability().getBackordered().getSupplier()), "Acme Garden");
  }
  {
    auto r = stub.lookup("nope", Currency::EUR, true).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->getFound());
    EXPECT_FALSE(r->hasItem());
  }

  // Explicit params struct with a union and a group; a list of structs with
  // nested lists in the results.
  {
    auto r = stub.search([](Query::Builder q) {
                   q.setAll();
                   q.setLimit(2);
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getTotal(), 3u);
    EXPECT_EQ(Strs(r->getSkus()), (std::vector<std::string>{"drill-01", "pan-03"}));
    ASSERT_EQ(r->getItems().size(), 2u);
    EXPECT_EQ(Strs(r->getItems()[0].getTags()),
              (std::vector<std::string>{"power", "cordless", "18v"}));
    EXPECT_EQ(Vec<uint32_t>(r->getItems()[0].getStock()), (std::vector<uint32_t>{4, 0, 7}));
    ASSERT_EQ(r->getItems()[1].getAvailability().which(), Item::Availability::DISCONTINUED);
    EXPECT_EQ(Str(r->getItems()[1].getAvailability().getDiscontinued()), "recalled");
  }
  {
    auto r = stub.search([](Query::Builder q) { q.setByCategory(Category::GARDEN); }).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getTotal(), 1u);
    EXPECT_EQ(Strs(r->getSkus()), std::vector<std::string>{"rake-02"});
  }
  {
    auto r = stub.search([](Query::Builder q) {
                   q.setByTag("outdoor");
                   q.getPriceRange().setMin(3000);
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Strs(r->getSkus()), std::vector<std::string>{"pan-03"});
  }
  {
    auto r = stub.search([](Query::Builder q) {
                   q.setBySku("drill-01");
                   q.getPriceRange().setMax(5000);
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getTotal(), 0u);
    EXPECT_EQ(r->getItems().size(), 0u);
  }

  // A list of primitives in the params.
  {
    auto r = stub.restock([](Catalog::RestockParams::Builder p) {
                   p.setSku("drill-01");
                   auto d = p.initDeliveries(4);
                   for (unsigned i = 0; i < 4; ++i) d.set(i, i + 1);
                 })
                 .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Vec<uint32_t>(r->getStock()), (std::vector<uint32_t>{5, 2, 10, 4}));
    EXPECT_EQ(r->getTotal(), 21u);
  }
  {
    auto r = stub.restock([](auto p) { p.setSku("ghost"); }).Get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.status().message(), "no item ghost");
  }

  // Every kind of flat param: Text, UInt32, Float64, enum, Data.
  {
    auto r = stub.quote("drill-01", 3, 10.0, Currency::JPY, AsData("SAVE10")).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    // 3 * 11999 = 35997 cents, minus 10% + 10% = 28798 cents = 46076 yen.
    EXPECT_EQ(r->getTotal().getAmount(), 46076);
    EXPECT_EQ(r->getTotal().getCurrency(), Currency::JPY);
    EXPECT_DOUBLE_EQ(r->getPerUnit(), 46076.0 / 3);
    EXPECT_TRUE(r->getCouponValid());
  }
  {
    auto r = stub.quote("drill-01", 3, 0.0, Currency::EUR, AsData("SAVE1")).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getTotal().getAmount(), 35997);
    EXPECT_FALSE(r->getCouponValid());
  }

  // No params, no results.
  ASSERT_TRUE(stub.clear().Get().ok());
  {
    auto r = stub.search([](Query::Builder q) { q.setAll(); }).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getTotal(), 0u);
    EXPECT_FALSE(stub.lookup("drill-01", Currency::EUR, false).Get()->getFound());
  }
}

TEST(CatalogE2E, ThreeMebibyteDataInAndOutByteExact) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kFirstIdle, 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();

  constexpr size_t kSize = size_t{3} << 20;
  std::vector<kj::byte> in(kSize);
  for (size_t i = 0; i < kSize; ++i) in[i] = static_cast<kj::byte>((i * 2654435761u) >> 13);
  const capnp::Data::Reader in_reader(in.data(), in.size());
  const uint64_t salt = 0x0123456789abcdefull;
  for (int round = 0; round < 3; ++round) {
    // Flat form (Data argument) and builder form alternately.
    auto r = round % 2 == 0 ? stub.digest(in_reader, salt + round).Get()
                            : stub.digest([&](Blobs::DigestParams::Builder p) {
                                    p.setBlob(in_reader);
                                    p.setSalt(salt + round);
                                  })
                                  .Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getSize(), kSize);
    EXPECT_EQ(r->getChecksum(), Fnv(in_reader, salt + round));
  }
  // A single flipped byte changes the checksum the worker computes.
  in[kSize / 2] ^= 0x40;
  auto flipped = stub.digest(in_reader, salt).Get();
  ASSERT_TRUE(flipped.ok()) << flipped.status();
  EXPECT_EQ(flipped->getChecksum(), Fnv(in_reader, salt));
  in[kSize / 2] ^= 0x40;
  EXPECT_NE(flipped->getChecksum(), Fnv(in_reader, salt));

  for (uint8_t seed : {uint8_t{7}, uint8_t{200}}) {
    auto r = stub.generate(kSize, seed).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    capnp::Data::Reader blob = r->getBlob();
    ASSERT_EQ(blob.size(), kSize);
    std::vector<kj::byte> expected(kSize);
    for (size_t i = 0; i < kSize; ++i) expected[i] = GeneratedByte(i, seed);
    const capnp::Data::Reader expected_reader(expected.data(), expected.size());
    EXPECT_EQ(r->getChecksum(), Fnv(expected_reader, 0));
    EXPECT_EQ(Fnv(blob, 0), Fnv(expected_reader, 0));
    EXPECT_EQ(blob[0], seed);
    EXPECT_EQ(blob[1], static_cast<kj::byte>(131 + seed));
    EXPECT_EQ(blob[kSize / 2], GeneratedByte(kSize / 2, seed));
    EXPECT_EQ(blob[kSize - 1], GeneratedByte(kSize - 1, seed));
    EXPECT_TRUE(std::equal(blob.begin(), blob.end(), expected.begin()));
  }
}

TEST(CatalogE2E, TwentyThousandPipelinedCallsFromOneThreadWithRandomBalancer) {
  Fixture f;
  weft::PoolOptions options;
  options.workers = 3;
  options.balancer = weft::BalancerKind::kRandom;
  // Default slots_per_lane (256): the lanes fill up, and finished results
  // not yet claimed are copied out of their slots to make room.
  auto pool = weft::Pool<Catalog>::Create(
      options, [&f] { return std::make_unique<CatalogImpl>(f.next_index++, &f.shop); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();
  auto created = stub.upsert(SimpleItem("widget", 250, 1)).Get();
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->which(), UpsertOutcome::CREATED);
  created = absl::CancelledError("released");

  constexpr int kCalls = 20'000;
  std::vector<weft::Future<Catalog::QuoteResults>> futures;
  futures.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    futures.push_back(stub.quote("widget", static_cast<uint32_t>(i + 1), 0.0,
                                 static_cast<Currency>(i % 3), capnp::Data::Reader()));
  }
  int correct = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto r = futures[i].Get();
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    const Currency currency = static_cast<Currency>(i % 3);
    ASSERT_EQ(r->getTotal().getAmount(), FromEur(int64_t{250} * (i + 1), currency)) << i;
    ASSERT_EQ(r->getTotal().getCurrency(), currency) << i;
    ASSERT_FALSE(r->getCouponValid()) << i;
    ++correct;
  }
  EXPECT_EQ(correct, kCalls);
  // Random spread 20,001 calls over 3 workers: each served some.
  weft::PoolStats stats = pool->Stats();
  ASSERT_EQ(stats.workers.size(), 3u);
  uint64_t served = 0;
  for (const auto& w : stats.workers) {
    EXPECT_GT(w.calls_served, 0u);
    served += w.calls_served;
  }
  EXPECT_EQ(served, uint64_t{kCalls} + 1);
}

TEST(CatalogE2E, EightHostThreadsAtOnceWithLeastBusyBalancer) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kLeastBusy, 3);
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(pool->stub().upsert(SimpleItem("bolt", 7, 0)).Get().ok());

  constexpr int kThreads = 8;
  constexpr int kRounds = 1'250;  // each round: one restock and one quote
  constexpr size_t kWindow = 16;
  std::atomic<int> correct{0};
  std::vector<std::vector<uint64_t>> totals(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t, stub = pool->stub()]() mutable {
      std::vector<weft::Future<Catalog::RestockResults>> restocks;
      std::vector<std::pair<uint32_t, weft::Future<Catalog::QuoteResults>>> quotes;
      auto drain = [&] {
        for (auto& future : restocks) {
          auto r = future.Get();
          if (r.ok() && r->getStock().size() == 1 && r->getTotal() == r->getStock()[0]) {
            totals[t].push_back(r->getTotal());
            correct.fetch_add(1);
          }
        }
        for (auto& [quantity, future] : quotes) {
          auto r = future.Get();
          if (r.ok() && r->getTotal().getAmount() == int64_t{7} * quantity &&
              r->getTotal().getCurrency() == Currency::EUR) {
            correct.fetch_add(1);
          }
        }
        restocks.clear();
        quotes.clear();
      };
      for (int i = 0; i < kRounds; ++i) {
        restocks.push_back(stub.restock([](Catalog::RestockParams::Builder p) {
          p.setSku("bolt");
          p.initDeliveries(1).set(0, 1);
        }));
        const uint32_t quantity = static_cast<uint32_t>(t * 10'000 + i + 1);
        quotes.emplace_back(
            quantity, stub.quote("bolt", quantity, 0.0, Currency::EUR, capnp::Data::Reader()));
        if (restocks.size() == kWindow) drain();
      }
      drain();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(correct.load(), kThreads * kRounds * 2);

  // Every restock saw a distinct stock level: together exactly 1..N.
  std::vector<uint64_t> all;
  for (const auto& v : totals) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> expected(kThreads * kRounds);
  std::iota(expected.begin(), expected.end(), uint64_t{1});
  EXPECT_EQ(all, expected);
  auto final_stock = pool->stub().lookup("bolt", Currency::EUR, false).Get();
  ASSERT_TRUE(final_stock.ok()) << final_stock.status();
  EXPECT_EQ(Vec<uint32_t>(final_stock->getItem().getStock()),
            std::vector<uint32_t>{kThreads * kRounds});

  uint64_t served = 0;
  for (const auto& w : pool->Stats().workers) served += w.calls_served;
  EXPECT_EQ(served, uint64_t{kThreads} * kRounds * 2 + 2);
}

TEST(CatalogE2E, WorkerErrorsReachTheCallerAndThePoolKeepsServing) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kLeastBusy, 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();

  auto failed =
      stub.fail(static_cast<uint32_t>(absl::StatusCode::kFailedPrecondition), "out of stock").Get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(failed.status().message(), "out of stock");

  auto thrown = stub.explode("warehouse on fire").Get();
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(thrown.status().message().find("warehouse on fire"), std::string_view::npos)
      << thrown.status();

  // Interleaved and pipelined: errors stay with their own calls.
  constexpr int kRounds = 200;
  std::vector<weft::Future<Catalog::FailResults>> fails;
  std::vector<weft::Future<Catalog::ExplodeResults>> explodes;
  std::vector<weft::Future<Health::PingResults>> pings;
  for (int i = 0; i < kRounds; ++i) {
    const std::string message = absl::StrCat("reason ", i);
    fails.push_back(stub.fail(static_cast<uint32_t>(absl::StatusCode::kAborted), message));
    explodes.push_back(stub.explode(message));
    pings.push_back(stub.ping());
  }
  for (int i = 0; i < kRounds; ++i) {
    const std::string message = absl::StrCat("reason ", i);
    auto a = fails[i].Get();
    EXPECT_EQ(a.status(), absl::AbortedError(message)) << i;
    auto b = explodes[i].Get();
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInternal) << i;
    EXPECT_NE(b.status().message().find(message), std::string_view::npos) << b.status();
    auto c = pings[i].Get();
    ASSERT_TRUE(c.ok()) << i << ": " << c.status();
    EXPECT_EQ(Str(c->getPong()), absl::StrCat("pong from ", c->getWorker()));
  }
  ASSERT_TRUE(stub.upsert(SimpleItem("nut", 3, 10)).Get().ok());
  auto q = stub.quote("nut", 5, 0.0, Currency::EUR, capnp::Data::Reader()).Get();
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->getTotal().getAmount(), 15);
  auto bad = stub.quote("nut", 5, 150.0, Currency::EUR, capnp::Data::Reader()).Get();
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CatalogE2E, SchemaDefaultDeadlineAndCallTimeoutAbortTheWorker) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kFirstIdle, 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();
  // stall and reindex(UINT64_MAX) never return unless the worker is told of
  // the abort. A call whose deadline passes before the worker picks it up is
  // not run at all, so count entries, not timings: every stall that started
  // has returned (the one worker served the ping after it) having seen
  // aborted(), and no entry is lost.
  auto reindex_entered = [&f] {
    std::lock_guard<std::mutex> lock(f.shop.entry_mu);
    return f.shop.reindex_entered;
  };

  // $Weft.timeoutMs(50) with no CallOptions: the deadline fires.
  auto r = stub.stall().Get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  ASSERT_TRUE(stub.ping().Get().ok());  // one worker: the stall is over
  EXPECT_LE(f.shop.stall_entered.load(), 1);
  EXPECT_EQ(f.shop.stall_aborts.load(), f.shop.stall_entered.load());

  // A per-call timeout overrides the schema's.
  r = stub.stall(weft::CallOptions{.timeout = absl::Milliseconds(5)}).Get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  ASSERT_TRUE(stub.ping().Get().ok());
  EXPECT_LE(f.shop.stall_entered.load(), 2);
  EXPECT_EQ(f.shop.stall_aborts.load(), f.shop.stall_entered.load());

  // reindex has no schema deadline; a call timeout still reaches the worker.
  auto ri = stub.reindex(UINT64_MAX, weft::CallOptions{.timeout = absl::Milliseconds(10)}).Get();
  EXPECT_EQ(ri.status().code(), absl::StatusCode::kDeadlineExceeded) << ri.status();
  ASSERT_TRUE(stub.ping().Get().ok());
  EXPECT_LE(reindex_entered(), 1);
  EXPECT_EQ(f.shop.reindex_aborts.load(), reindex_entered());
  const int aborted_reindexes = f.shop.reindex_aborts.load();

  // And a reindex with no deadline runs to its end untouched.
  auto done = stub.reindex(100'000).Get();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->getDone(), 100'000u);
  EXPECT_EQ(f.shop.reindex_aborts.load(), aborted_reindexes);
  EXPECT_EQ(reindex_entered(), aborted_reindexes + 1);
}

TEST(CatalogE2E, AbortReachesTheWorkerAndFirstIdleSkipsTheBusyWorker) {
  Fixture f;
  auto pool = f.MakePool(weft::BalancerKind::kFirstIdle, 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  CatalogStub stub = pool->stub();

  auto busy = stub.reindex(UINT64_MAX);
  f.shop.WaitReindexEntered(1);
  int busy_worker = -1;
  {
    std::lock_guard<std::mutex> lock(f.shop.entry_mu);
    busy_worker = f.shop.reindex_worker;
  }
  ASSERT_GE(busy_worker, 0);
  EXPECT_FALSE(busy.Ready());
  // One worker is inside reindex: first-idle sends everything to the other.
  for (int i = 0; i < 20; ++i) {
    auto p = stub.ping().Get();
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_NE(static_cast<int>(p->getWorker()), busy_worker) << i;
  }
  busy.Abort();
  EXPECT_EQ(busy.Get().status().code(), absl::StatusCode::kCancelled);
  // The worker is told (abortable): it leaves the loop. Observable state,
  // not timing.
  while (f.shop.reindex_aborts.load() == 0) std::this_thread::yield();
  EXPECT_EQ(f.shop.reindex_aborts.load(), 1);
  // Both workers serve again.
  auto after = stub.reindex(1'000).Get();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->getDone(), 1'000u);
}

TEST(CatalogE2E, BaseInterfaceServedOnItsOwnWithRoundRobin) {
  std::atomic<uint32_t> next{0};
  weft::PoolOptions options;
  options.workers = 3;
  options.balancer = weft::BalancerKind::kRoundRobin;
  auto pool =
      weft::Pool<Health>::Create(options, [&] { return std::make_unique<HealthImpl>(next++); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  weft::Stub<Health> health = pool->stub();
  std::vector<int> seen(3);
  for (int i = 0; i < 9; ++i) {
    auto r = health.ping().Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Str(r->getPong()), "health");
    ++seen.at(r->getWorker());
  }
  EXPECT_EQ(seen, (std::vector<int>{3, 3, 3}));
  EXPECT_TRUE(health.note("fine").Get().ok());
  EXPECT_EQ(health.note("").Get().status(), absl::InvalidArgumentError("empty note"));
}

TEST(CatalogE2E, SecondInterfaceOfTheFileWithRandomBalancer) {
  weft::PoolOptions options;
  options.workers = 2;
  options.balancer = weft::BalancerKind::kRandom;
  auto pool = weft::Pool<Pricing>::Create(options, [] { return std::make_unique<PricingImpl>(); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  weft::Stub<Pricing> pricing = pool->stub();

  auto converted = pricing
                       .convert([](Pricing::ConvertParams::Builder p) {
                         p.initAmount().setAmount(1000);
                         p.getAmount().setCurrency(Currency::USD);
                         p.setTo(Currency::JPY);
                       })
                       .Get();
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->getConverted().getAmount(), 1280);  // 1000 USD -> 800 EUR -> 1280 JPY
  EXPECT_EQ(converted->getConverted().getCurrency(), Currency::JPY);

  auto rates = pricing.rates().Get();
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_EQ(Vec<Currency>(rates->getCurrencies()),
            (std::vector<Currency>{Currency::EUR, Currency::USD, Currency::JPY}));
  EXPECT_EQ(Vec<double>(rates->getPerEur()), (std::vector<double>{1.0, 1.25, 1.6}));
}

}  // namespace
}  // namespace shop::catalog
