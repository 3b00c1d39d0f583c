select (current_timestamp at time zone 'Pacific/Kiritimati')::date - 1 as d
