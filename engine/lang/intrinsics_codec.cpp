// Encoding, hashing, randomness and arithmetic intrinsics: States.Base64Encode,
// Base64Decode, Hash, UUID, MathRandom, MathAdd. Digests (core/hash) and
// random bytes come from OpenSSL.
#include <openssl/rand.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include "core/hash.hpp"
#include "lang/detail/intrinsic_node.hpp"
#include "lang/detail/json_util.hpp"
#include "lang/detail/text.hpp"

namespace beamflow::lang::detail {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                   static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 0x3F];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 0x3F];
    out += kAlphabet[(v >> 12) & 0x3F];
    out += rest == 2 ? kAlphabet[(v >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

// Standard alphabet; '=' padding optional but, when present, correct — the
// rules of Java's Base64.getDecoder(). Returns nullopt with the reason.
std::optional<std::string> base64_decode(std::string_view text, std::string& why) {
  std::size_t len = text.size();
  std::size_t pad = 0;
  while (len > 0 && text[len - 1] == '=' && pad < 2) --len, ++pad;
  if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0)) {
    why = "its length or '=' padding is wrong";
    return std::nullopt;
  }
  std::string out;
  out.reserve(len / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const char c = text[i];
    const char* hit = c ? std::char_traits<char>::find(kAlphabet, 64, c) : nullptr;
    if (!hit) {
      why = "character " + std::to_string(i) + " is not in the base64 alphabet";
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(hit - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

bool random_bytes(unsigned char* out, int size) { return RAND_bytes(out, size) == 1; }

// A uniform integer in [0, range) without modulo bias, reproducible for a
// given engine state on every platform (std::uniform_int_distribution is not).
std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t range) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t draw = 0;
  do draw = engine();
  while (draw >= limit);
  return draw % range;
}

// Any integer-valued number seeds the generator; fractions round like the
// other integer arguments.
std::uint64_t seed_arg(const Intrinsic::Node& call, const Json& seed) {
  if (seed.is_number_unsigned()) return seed.get<std::uint64_t>();
  if (seed.is_number_integer()) return static_cast<std::uint64_t>(seed.get<std::int64_t>());
  if (!seed.is_number()) fail(call, "argument 3 (seed) must be a number, not " + a_type(seed));
  const double rounded = std::floor(seed.get<double>() + 0.5);
  if (!(std::fabs(rounded) < 9.2e18)) fail(call, "argument 3 (seed) is out of range");
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(rounded));
}

}  // namespace

Json fn_base64_encode(const Intrinsic::Node& call, Args& args) {
  return base64_encode(bounded_string_arg(call, args, 0));
}

Json fn_base64_decode(const Intrinsic::Node& call, Args& args) {
  std::string why;
  auto bytes = base64_decode(bounded_string_arg(call, args, 0), why);
  if (!bytes) fail(call, "argument 1 is not valid base64: " + why);
  // The decoded bytes become a string; bytes that are not UTF-8 become
  // U+FFFD, as when AWS (Java) decodes them.
  return sanitize_utf8(*bytes);
}

Json fn_hash(const Intrinsic::Node& call, Args& args) {
  const std::string& data = bounded_string_arg(call, args, 0);
  const std::string& algorithm = string_arg(call, args, 1);
  try {
    return digest_hex(algorithm, data);
  } catch (const std::invalid_argument&) {
    fail(call, "unsupported algorithm " + detail::quoted(algorithm) +
                   "; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512");
  }
}

Json fn_uuid(const Intrinsic::Node& call, Args&) {
  std::array<unsigned char, 16> b{};
  if (!random_bytes(b.data(), static_cast<int>(b.size()))) {
    fail(call, "no random bytes available from OpenSSL");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

// An integer in [start, end). With a seed the result is reproducible (within
// beamflow; AWS's generator is not documented, so values differ from AWS).
Json fn_math_random(const Intrinsic::Node& call, Args& args) {
  const std::int64_t start = int_arg(call, args, 0);
  const std::int64_t end = int_arg(call, args, 1);
  if (start >= end) {
    fail(call, "the start " + std::to_string(start) + " must be less than the end " +
                   std::to_string(end));
  }
  std::uint64_t seed = 0;
  if (args.size() == 3) {
    seed = seed_arg(call, args[2]);
  } else if (!random_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed)) {
    fail(call, "no random bytes available from OpenSSL");
  }
  std::mt19937_64 engine(seed);
  const auto range = static_cast<std::uint64_t>(end - start);
  return start + static_cast<std::int64_t>(uniform_below(engine, range));
}

// The spec asks for integer operands; AWS silently rounds fractions (Java's
// Math.round). The spec wins here: a fraction is an IntrinsicFailure, so a
// flow never adds numbers other than the ones it was given.
Json fn_math_add(const Intrinsic::Node& call, Args& args) {
  for (std::size_t i = 0; i < 2; ++i) {
    const Json& a = args[i];
    if (a.is_number_float() && std::trunc(a.get<double>()) != a.get<double>())
      fail(call, "argument " + std::to_string(i + 1) + " must be an integer, not " + json_excerpt(a));
  }
  return static_cast<std::int64_t>(int_arg(call, args, 0)) + int_arg(call, args, 1);
}

}  // namespace beamflow::lang::detail
