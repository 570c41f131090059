#include "pilot/channel.hpp"

namespace beamflow::pilot {

class LocalChannels::End final : public Channel {
 public:
  End(LocalChannels& all, int rank) : m_all(all), m_rank(rank) {}
  int rank() const override { return m_rank; }
  int size() const override { return m_all.size(); }
  void send(int to, std::string bytes) override {
    auto& peer = static_cast<End&>(m_all.at(to));
    {
      const std::lock_guard<std::mutex> lock(peer.m_mutex);
      peer.m_inbox.push_back({m_rank, std::move(bytes)});
    }
    peer.m_ready.notify();
  }
  int fd() const override { return m_ready.fd(); }
  std::vector<Envelope> receive() override {
    m_ready.drain();
    const std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<Envelope> out(std::make_move_iterator(m_inbox.begin()), std::make_move_iterator(m_inbox.end()));
    m_inbox.clear();
    return out;
  }

 private:
  LocalChannels& m_all;
  int m_rank;
  std::mutex m_mutex;
  std::deque<Envelope> m_inbox;
  fs::Wakeup m_ready;
};

Channel& LocalChannels::at(int rank) { return *m_ends.at(static_cast<std::size_t>(rank)); }

LocalChannels::~LocalChannels() = default;

LocalChannels::LocalChannels(int size) {
  for (int r = 0; r < size; ++r) m_ends.push_back(std::make_unique<End>(*this, r));
}

}  // namespace beamflow::pilot
