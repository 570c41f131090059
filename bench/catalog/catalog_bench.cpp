// Catalog benchmark: ingest rate and search latency (free text + 2 term
// facets, the visibility check of an ordinary user included) over N
// synthetic entries, on SQLite and/or PostgreSQL.
//
//   catalog_bench [--entries N] [--queries Q] [--batch B] [--report-every R] [--sqlite PATH] [--pg CONNINFO]
//   catalog_bench --search-only [--queries Q] --sqlite PATH | --pg CONNINFO
//                                        # only search a catalog an earlier run filled (the same entries and
//                                        # queries; its row's entries and ingest columns read 0)
//   catalog_bench ... --per-query 1         # also one line a search on stderr: index, word, hits, wall ms,
//                                        # CPU ms, minor page faults, steady clock at its end (s; which
//                                        # queries make the p99, and to cut a perf record by query)
//   catalog_bench ... --pages 1             # SQLite: the pages each search reads (distinct, and new to this
//                                        # process: what its first touches cost), by table and index, one
//                                        # line a search and a summary on stderr; counts that do not depend
//                                        # on the machine's load (page_trace.hpp)
//   catalog_bench ... --query-kind K       # facets (default): free text + 2 term facets; title: the same
//                                        # sorted on the title; wildcard: the same with a wildcard filter
//                                        # (domain.beamline like "*-BM", which reads each hit's content);
//                                        # creators: the facet on domain.elements one on dc.creators.name
//                                        # (5,000 values: past FacetCodes::kPerField, some values uncoded)
//   catalog_bench ... --results FILE       # each search's result, one line a search in FILE: its word,
//                                        # the Globus Search response (hits, total, facets, marker) with
//                                        # every hit's score to 17 digits, and the same for the next
//                                        # page its marker gives (read after the search's timing), to
//                                        # compare two binaries' results on one catalog
//   catalog_bench ... --warm-up W          # W more searches before the measured ones (not timed; words
//                                        # drawn apart, so the measured searches are the same): a
//                                        # service's connection that has served W searches. Without it
//                                        # the measured searches start on the catalog's new connection
//                                        # after 5 warm-ups, and each pays for the pages it is the first
//                                        # of this connection to touch (PostgreSQL: a backend maps each
//                                        # shared buffer at its first touch; at 1,000,000 entries the
//                                        # bench's 7th search, 12,354 hits, is the first to touch ~12,000)
//   catalog_bench ... --clients C          # PostgreSQL: C connections ingest the batches at once (a
//                                        # facility's several publishing clients; each batch its own
//                                        # transaction, dealt in turn). ingest/s is then the entries
//                                        # over the whole ingest's wall time (the batches are all made
//                                        # before it: memory for every entry at once, ~4 KB each), and
//                                        # CPU us/entry this process's CPU (every thread) an entry. The
//                                        # row ids, and so the order of equally ranked hits, depend on
//                                        # which connection draws first: compare_results.py compares
//                                        # two runs' --results up to that order.
//   catalog_bench --print-sql Q [--pg]   # the search statements of the first Q bench queries, one
//                                        # JSON {"sql", "params"} a line (to time or EXPLAIN them)
//
// Ingest time counts only Catalog::ingest (not generating the entries);
// with --report-every a row is printed at each R entries as well. Beside
// the wall-clock figures, CPU time of this process (thread CPU clock): per
// entry ingested, and per search (median, p99). On a loaded machine those
// survive where wall-clock time does not; for PostgreSQL they are the
// client's share only (the server's CPU is its own processes').
//
// Entries look like beamline datasets: a 6-word title and a 12-word
// abstract drawn from a 5,000-word vocabulary (Zipf-like, so some words
// are common and most are rare), 1-4 elements, one of 12 beamlines, a year,
// an energy. Queries pick title words uniformly from the vocabulary's
// middle ranks (words found in roughly 0.05-0.5% of entries). Prints one
// table row per backend.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <libpq-fe.h>

#include <sys/resource.h>

#include "bench/catalog/page_trace.hpp"
#include "jobs/catalog/catalog.hpp"
#include "jobs/catalog/sql_plan.hpp"

using namespace beamflow;
using namespace beamflow::catalog;
using Clock = std::chrono::steady_clock;

namespace {

struct Corpus {
  std::vector<std::string> words;
  std::discrete_distribution<int> zipf;
  explicit Corpus(int n) {
    std::mt19937 rng(7);
    const char* syl[] = {"ta", "ro", "mi", "ne", "ka", "lu", "vo", "ri", "sa", "de", "po", "gi", "xe", "fa", "zu", "be"};
    std::vector<double> weights;
    for (int i = 0; i < n; ++i) {
      std::string w;
      int k = i;
      do {
        w += syl[k % 16];
        k /= 16;
      } while (k);
      w += syl[rng() % 16];
      words.push_back(w);
      weights.push_back(1.0 / (i + 10));
    }
    zipf = std::discrete_distribution<int>(weights.begin(), weights.end());
  }
};

const char* kElements[] = {"H", "Li", "C", "N", "O", "Al", "Si", "Ca", "Ti", "V", "Cr", "Fe", "Co", "Ni", "Cu", "Zn"};
const char* kBeamlines[] = {"2-BM", "7-BM", "32-ID", "1-ID", "6-ID", "8-BM", "13-BM", "20-ID", "11-BM", "17-BM", "33-ID", "9-ID"};

Entry make_entry(long i, Corpus& c, std::mt19937& rng) {
  auto text = [&](int n) {
    std::string s;
    for (int k = 0; k < n; ++k) s += (k ? " " : "") + c.words[static_cast<std::size_t>(c.zipf(rng))];
    return s;
  };
  Json elements = Json::array();
  for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) elements.push_back(kElements[rng() % 16]);
  Entry e;
  e.identifier = "ark:/99999/bench" + std::to_string(i);
  e.owner = "user" + std::to_string(rng() % 100);
  e.visible_to = {rng() % 10 ? "public" : "group:g" + std::to_string(rng() % 10)};
  e.content = {{"dc",
                {{"creators", {{{"name", "Person " + std::to_string(rng() % 5000)}}}},
                 {"titles", {{{"title", text(6)}}}},
                 {"publisher", "Facility"},
                 {"publicationYear", 2000 + static_cast<int>(rng() % 26)},
                 {"types", {{"resourceTypeGeneral", "Dataset"}}},
                 {"descriptions", {{{"description", text(12)}, {"descriptionType", "Abstract"}}}}}},
               {"domain",
                {{"elements", elements},
                 {"beamline", kBeamlines[rng() % 12]},
                 {"energy_kev", 5 + static_cast<int>(rng() % 95)}}}};
  e.location = "/data/" + std::to_string(i);
  e.manifest_digest = std::string(64, 'a');
  e.published_ms = 1700000000000 + i * 1000;
  return e;
}

// The next batch of up to `batch` entries, numbered from `made` (which it
// advances) to at most `entries`: run() and run_clients() draw the same
// entries from the same stream.
std::vector<Entry> make_batch(long& made, long entries, int batch, Corpus& corpus, std::mt19937& rng) {
  std::vector<Entry> es;
  es.reserve(static_cast<std::size_t>(std::min<long>(batch, entries - made)));
  for (int k = 0; k < batch && made < entries; ++k, ++made) es.push_back(make_entry(made, corpus, rng));
  return es;
}

// CPU seconds of this thread so far, or of the whole process (every
// thread: CLOCK_PROCESS_CPUTIME_ID).
double cpu_seconds(clockid_t clock = CLOCK_THREAD_CPUTIME_ID) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Page faults this thread took so far that needed no disk read (a page
// already in the page cache entering the process's page table).
long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(static_cast<double>(v.size()) * p))];
}

// Median and p99 search latency (ms), wall and CPU, and mean hits over
// `queries` searches.
struct Latency {
  double median, p99, cpu_median, cpu_p99, hits;
};
// Which searches the bench makes (--query-kind).
std::string g_query_kind = "facets";

// The bench's query for one word: free text + 2 term facets; with
// --query-kind title sorted on the title, with wildcard filtered by one.
Json bench_query(const std::string& word) {
  Json q = {{"q", word},
            {"limit", 10},
            {"facets", {{{"field_name", "domain.elements"}}, {{"field_name", "domain.beamline"}}}}};
  if (g_query_kind == "title") q["sort"] = {{{"field_name", "dc.titles.title"}}};
  if (g_query_kind == "creators") q["facets"][0] = {{"field_name", "dc.creators.name"}};
  if (g_query_kind == "wildcard") q["filters"] = {{{"type", "like"}, {"field_name", "domain.beamline"}, {"value", "*-BM"}}};
  return q;
}
const Identity kBenchUser{"user7", {"g3"}, false};

bool g_per_query = false;
std::FILE* g_results = nullptr;  // with --results

// One search's result as --results writes it: the response, the scores.
Json result_line(const SearchResult& r) {
  Json scores = Json::array();
  for (const auto& h : r.hits) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", h.score);
    scores.push_back(buf);
  }
  return {{"response", to_gmeta(r)}, {"scores", scores}};
}
bench::PageTrace* g_trace = nullptr;  // with --pages
std::string g_trace_path;              // the SQLite file it names pages in

// Pages read by the searches of one measure(): each search's distinct
// pages and those no earlier search of this process read, by owner.
class PageCounts {
 public:
  PageCounts() {
    if (g_trace) g_trace->name_pages(g_trace_path);
  }
  void start() {
    if (g_trace) g_trace->start();
  }
  void stop(int query) {
    if (!g_trace) return;
    std::map<std::string, std::pair<long, long>> by;  // owner -> distinct, new
    for (const auto page : g_trace->stop()) {
      auto& c = by[g_trace->owner(page)];
      ++c.first;
      if (m_seen.insert(page).second) ++c.second;
    }
    std::fprintf(stderr, "pages %d", query);
    for (const auto& [owner, c] : by) {
      std::fprintf(stderr, " %s:%ld/%ld", owner.c_str(), c.first, c.second);
      auto& t = m_totals[{part(query), owner}];
      t.first += c.first;
      t.second += c.second;
    }
    std::fprintf(stderr, "\n");
    ++m_queries[part(query)];
  }
  ~PageCounts() {
    for (const auto& [key, c] : m_totals)
      std::fprintf(stderr, "pages-summary queries %s %s: %.1f distinct, %.1f new a search\n", key.first.c_str(),
                   key.second.c_str(), static_cast<double>(c.first) / m_queries[key.first],
                   static_cast<double>(c.second) / m_queries[key.first]);
  }

 private:
  // The warm-up searches, the first 30 measured (where the p99 was) and the rest.
  static std::string part(int query) { return query < 5 ? "0-4" : query < 35 ? "5-34" : "35+"; }
  std::set<std::uint32_t> m_seen;
  std::map<std::pair<std::string, std::string>, std::pair<long, long>> m_totals;
  std::map<std::string, long> m_queries;
};

int g_warm_up = 0;  // --warm-up

Latency measure(Catalog& catalog, const Corpus& corpus, int queries) {
  std::mt19937 wrng(98);
  for (int i = 0; i < g_warm_up; ++i) catalog.search(parse_query(bench_query(corpus.words[200 + wrng() % 1800])), kBenchUser);
  std::mt19937 qrng(99);
  std::vector<double> ms, cpu_ms;
  long hits = 0;
  const Identity& who = kBenchUser;
  PageCounts pages;
  for (int i = 0; i < queries + 5; ++i) {
    const std::string& word = corpus.words[200 + qrng() % 1800];
    const Json q = bench_query(word);
    const auto s0 = Clock::now();
    const double c0 = cpu_seconds();
    const long f0 = g_per_query ? minor_faults() : 0;  // a system call: only when asked
    pages.start();
    const auto r = catalog.search(parse_query(q), who);
    pages.stop(i);
    const double c = (cpu_seconds() - c0) * 1e3;
    const auto s1 = Clock::now();
    const double t = std::chrono::duration<double, std::milli>(s1 - s0).count();
    if (g_per_query)
      std::fprintf(stderr, "query %d %s %ld %.3f %.3f %ld %.6f\n", i, word.c_str(), static_cast<long>(r.total), t, c,
                   minor_faults() - f0, std::chrono::duration<double>(s1.time_since_epoch()).count());
    if (g_results) {
      Json line = {{"query", i}, {"word", word}, {"page", result_line(r)}};
      if (!r.marker.empty()) {
        Json next = q;
        next["marker"] = r.marker;
        line["next"] = result_line(catalog.search(parse_query(next), who));
      }
      std::fprintf(g_results, "%s\n", line.dump().c_str());
    }
    if (i >= 5) {  // the first few warm the caches
      ms.push_back(t);
      cpu_ms.push_back(c);
      hits += r.total;
    }
  }
  return {percentile(ms, 0.5), percentile(ms, 0.99), percentile(cpu_ms, 0.5), percentile(cpu_ms, 0.99),
          static_cast<double>(hits) / static_cast<double>(ms.size())};
}

void print_row(const std::string& label, long entries, double ingest_rate, const Latency& l, double cpu_us_entry) {
  std::printf("| %-10s | %9ld | %10.0f | %8.1f | %8.1f | %9.0f | %7.1f | %7.1f | %7.1f |\n", label.c_str(), entries,
              ingest_rate, l.median, l.p99, l.hits, cpu_us_entry, l.cpu_median, l.cpu_p99);
  std::fflush(stdout);
}

// Ingests `entries` in batches; every `report` entries (and at the end)
// prints a row: ingest rate so far and search latency at that size.
void run(const std::string& label, Catalog& catalog, long entries, int queries, int batch, long report) {
  Corpus corpus(5000);
  std::mt19937 rng(42);
  double ingest_s = 0, ingest_cpu = 0;
  for (long done = 0; done < entries;) {
    std::vector<Entry> es = make_batch(done, entries, batch, corpus, rng);
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    catalog.ingest(es);
    ingest_cpu += cpu_seconds() - c0;
    ingest_s += std::chrono::duration<double>(Clock::now() - t0).count();
    if (done % report == 0 || done == entries) {
      print_row(label, done, static_cast<double>(done) / ingest_s, measure(catalog, corpus, queries),
                ingest_cpu / static_cast<double>(done) * 1e6);
    }
  }
}

// Ingests `entries` over catalogs.size() connections at once. The batches
// are made first, from one random stream (so the entries are those of
// run()), and freed after the clock stops: as in run(), the time and the
// CPU are the ingest's alone, not the bench's making of its synthetic
// entries, which a facility's publishing clients do elsewhere (until
// session 32 they were made inside the timed span, on the same 2 cores,
// ~8 us an entry). Each thread takes the next batch and ingests it on its
// own connection. Then searches on the first, as run() does.
void run_clients(const std::string& label, std::vector<std::unique_ptr<Catalog>>& catalogs, long entries,
                 int queries, int batch) {
  Corpus corpus(5000);
  std::mt19937 rng(42);
  std::vector<std::vector<Entry>> batches;
  for (long made = 0; made < entries;) batches.push_back(make_batch(made, entries, batch, corpus, rng));
  std::atomic<std::size_t> next{0};
  const double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(catalogs.size());
  for (std::size_t c = 0; c < catalogs.size(); ++c)
    threads.emplace_back([&, c] {
      try {
        for (std::size_t b; (b = next++) < batches.size();) catalogs[c]->ingest(batches[b]);
      } catch (const std::exception& e) {
        errors[c] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  batches.clear();
  for (const auto& e : errors)
    if (!e.empty()) throw std::runtime_error(e);
  print_row(label, entries, static_cast<double>(entries) / wall, measure(*catalogs[0], corpus, queries),
            cpu / static_cast<double>(entries) * 1e6);
}

// The server settings a PostgreSQL run's figures depend on, on one line.
void print_server_settings(const std::string& conninfo) {
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(conninfo.c_str()), PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return;
  std::unique_ptr<PGresult, void (*)(PGresult*)> r(
      PQexec(conn.get(), "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM "
                         "unnest(ARRAY['shared_buffers', 'huge_pages', 'max_wal_size', 'wal_compression', "
                         "'wal_buffers', 'wal_segment_size', 'wal_init_zero', 'fsync', 'synchronous_commit', "
                         "'full_page_writes', 'checkpoint_timeout', 'server_version']) name"),
      PQclear);
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1)
    std::printf("server: %s\n", PQgetvalue(r.get(), 0, 0));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--print-sql") {
    const bool pg = argc >= 4 && std::string(argv[3]) == "--pg";
    const Corpus corpus(5000);
    std::mt19937 qrng(99);  // as measure() draws them
    for (int i = 0, n = std::stoi(argv[2]); i < n; ++i) {
      const SearchPlan p = plan_search(parse_query(bench_query(corpus.words[200 + qrng() % 1800])), kBenchUser,
                                       pg ? Dialect::Postgres : Dialect::SQLite);
      Json params = Json::array();
      for (const auto& v : p.search.params) std::visit([&](const auto& x) { params.push_back(x); }, v);
      std::cout << Json{{"sql", p.search.text}, {"params", params}}.dump() << "\n";
    }
    return 0;
  }
  long entries = 1000000;
  int queries = 200, batch = 10000, clients = 1;
  long report = 0;
  bool search_only = false;
  std::string sqlite_path, pg;
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--search-only") {
      search_only = true;
      --i;
      continue;
    }
    if (i + 1 == argc) {
      std::cerr << "option " << a << " needs a value\n";
      return 2;
    }
    const std::string v = argv[i + 1];
    if (a == "--entries") entries = std::stol(v);
    else if (a == "--queries") queries = std::stoi(v);
    else if (a == "--per-query") g_per_query = v == "1";
    else if (a == "--results") {
      g_results = std::fopen(v.c_str(), "w");
      if (!g_results) {
        std::cerr << "cannot write " << v << "\n";
        return 2;
      }
    } else if (a == "--pages") g_trace = v == "1" ? &bench::PageTrace::install() : nullptr;
    else if (a == "--query-kind" && (v == "facets" || v == "title" || v == "wildcard" || v == "creators")) g_query_kind = v;
    else if (a == "--warm-up") g_warm_up = std::stoi(v);
    else if (a == "--batch") batch = std::stoi(v);
    else if (a == "--clients") clients = std::max(1, std::stoi(v));
    else if (a == "--report-every") report = std::stol(v);
    else if (a == "--sqlite") sqlite_path = v;
    else if (a == "--pg") pg = v;
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (sqlite_path.empty() && pg.empty()) {
    std::cerr << "usage: catalog_bench [--entries N] [--queries Q] [--batch B] [--sqlite PATH] [--pg CONNINFO]\n";
    return 2;
  }
  g_trace_path = sqlite_path;
  std::printf("| backend    |   entries | ingest/s   | p50 (ms) | p99 (ms) | hits/query | CPU us/entry | CPU p50 | CPU p99 |\n");
  std::printf("| ---------- | --------- | ---------- | -------- | -------- | --------- | ------- | ------- | ------- |\n");
  auto bench = [&](const std::string& label, Catalog& c) {
    if (search_only) print_row(label, 0, 0, measure(c, Corpus(5000), queries), 0);
    else run(label, c, entries, queries, batch, report ? report : entries);
  };
  try {
    if (!sqlite_path.empty()) bench("sqlite", *open_sqlite_catalog(sqlite_path));
    if (!pg.empty()) {
      print_server_settings(pg);
      if (clients > 1 && !search_only) {
        std::vector<std::unique_ptr<Catalog>> catalogs;
        for (int c = 0; c < clients; ++c) catalogs.push_back(open_postgres_catalog(pg));
        run_clients("postgresql", catalogs, entries, queries, batch);
      } else {
        bench("postgresql", *open_postgres_catalog(pg));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
